"""Real Celery workers on one PostgreSQL, sending to a local gateway that answers like Twilio
after 20 ms: several workers share the queue (Redis and RabbitMQ brokers) exactly once, the
route's messages-per-second limit holds across them, and a worker SIGKILLed mid-batch strands
only its requests in flight. Run on the PostgreSQL pass of the suite (``.ci/run``)."""

import os
import signal
import time

import pytest
from django.db import connection

from sms.fake_gateways import LatencyGateway, twilio_settings
from sms.tests.celery_workers import MIGRATE, REDIS_URL, Workers

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="runs with the PostgreSQL pass of the suite"),
]

AMQP_URL = os.environ.get("TEXTING_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def queue_code(n: int) -> str:
    return f"""
from sms.queueing import build_message, queue_messages
from django.db import transaction
for start in range(0, {n}, 500):
    with transaction.atomic():
        queue_messages([build_message(f"+447911{{i:06d}}", f"Hello {{i}}") for i in range(start, min(start + 500, {n}))])
"""


def amqp_or_skip():
    import kombu

    try:
        with kombu.Connection(AMQP_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        pytest.skip(f"RabbitMQ is unreachable at {AMQP_URL} ({exc})")


def states(workers) -> dict[str, int]:
    return dict(workers.query("SELECT state, COUNT(*) FROM sms_outboundmessage GROUP BY state"))


def worker_env(gateway, **extra) -> dict[str, str]:
    env = {**twilio_settings(gateway.url), "SMS_DEFAULT_BACKEND": "twilio", "SMS_PUBLIC_URL": ""}
    env.update({"SMS_GATEWAY_TIMEOUT_SECONDS": "5", "SMS_DISPATCH_BATCH_SIZE": "100"})
    env.update({key: str(value) for key, value in extra.items()})
    return env


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_three_workers_share_the_queue_exactly_once(broker, tmp_path):
    broker_url = REDIS_URL if broker == "redis" else AMQP_URL
    if broker == "rabbitmq":
        amqp_or_skip()
    total = 1500
    with LatencyGateway(kind="twilio", delay=0.02) as gateway:
        env = worker_env(gateway, SMS_SEND_CONCURRENCY=4, SMS_DISPATCH_WORKERS=3, CELERY_BROKER_URL=broker_url)
        with Workers("postgresql", tmp_path, **env) as workers:
            workers.shell(MIGRATE)
            for name in ("w0", "w1", "w2"):
                workers.start(name)
            time.sleep(3)  # let them connect to the broker, so the spread tasks find takers
            workers.shell(queue_code(total))
            assert workers.wait_for_states({"sent": total}, timeout=180) == {"sent": total}
        assert gateway.duplicates() == 0 and gateway.texts == total
        # More requests were in flight at once than one worker may have (4): workers overlapped.
        assert 4 < gateway.max_in_flight <= 12


def test_the_route_limit_holds_across_workers(tmp_path):
    total, rate = 150, 40
    with LatencyGateway(kind="twilio", delay=0.02) as gateway:
        env = worker_env(
            gateway,
            SMS_SEND_RATE_PER_SECOND=rate,
            SMS_DISPATCH_WORKERS=2,
            SMS_DISPATCH_BATCH_SIZE=30,
            CACHE_URL=REDIS_URL,  # the limiter's shared state: Redis
        )
        with Workers("postgresql", tmp_path, **env) as workers:
            workers.shell(MIGRATE)
            workers.start("r0")
            workers.start("r1")
            time.sleep(3)
            workers.shell(queue_code(total))
            assert workers.wait_for_states({"sent": total}, timeout=120) == {"sent": total}
        assert gateway.duplicates() == 0
        # Any 2 s at the gateway hold at most 2 s of the limit (+10 % for network jitter).
        assert gateway.busiest(2.0) <= 2 * rate * 1.1
        assert gateway.busiest(2.0) >= 2 * rate * 0.7  # and the limit was actually reached


def test_a_worker_killed_mid_batch_strands_at_most_its_requests_in_flight(tmp_path):
    total, in_flight = 2000, 8
    with LatencyGateway(kind="twilio", delay=0.02) as gateway:
        env = worker_env(gateway, SMS_SEND_CONCURRENCY=in_flight, SMS_DISPATCH_WORKERS=1)
        with Workers("postgresql", tmp_path, **env) as workers:
            workers.shell(MIGRATE + queue_code(total))
            workers.start("victim")
            deadline = time.monotonic() + 120
            while gateway.texts < 300 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert gateway.texts >= 300, "the worker never got going"
            victim = workers.processes[0]
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            workers.processes.remove(victim)  # dead on purpose
            time.sleep(0.2)  # requests it had in flight are answered into a closed socket
            before = states(workers)
            stranded = workers.query(
                "SELECT COUNT(*) FROM sms_outboundmessage WHERE state = 'sending' AND request_started_at IS NOT NULL"
            )[0][0]
            assert before["sent"] >= 250 and before.get("sending", 0) > 0
            assert stranded <= in_flight
            out = workers.shell(
                "from datetime import timedelta\nfrom sms.dispatch import recover_stuck\n"
                "print(recover_stuck(timeout=timedelta(0)))\n"
                "from sms.tasks import dispatch_due\ndispatch_due.delay()\n"
            )
            assert f"'unknown': {stranded}" in out
            print(f"killed mid-batch: {before}, {stranded} stranded in flight (limit {in_flight})")
            workers.start("rescuer")
            expected = {"sent": total - stranded, **({"unknown": stranded} if stranded else {})}
            assert workers.wait_for_states(expected, timeout=180) == expected
        assert gateway.duplicates() == 0  # sent twice: none
        # Every SENT text reached the gateway once; an UNKNOWN one may or may not have.
        assert total - stranded <= gateway.texts <= total
