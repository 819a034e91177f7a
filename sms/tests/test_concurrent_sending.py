"""Concurrent sending inside one dispatcher, the crash window of one request, and the shared
per-route messages-per-second limit. Real HTTP to a local gateway that answers after a delay."""

import itertools
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection

from sms import ratelimit
from sms.backends.base import BaseBackend, SendResult
from sms.dispatch import DispatchSummary, _record, claim_batch, dispatch, recover_stuck
from sms.fake_gateways import LatencyGateway, twilio_settings
from sms.models import OutboundMessage, RateBucket, State
from sms.queueing import build_message, queue_messages
from sms.testing import run_concurrently

pytestmark = pytest.mark.django_db


def queue(n, content="Hello", prefix="+4479111"):
    return queue_messages([build_message(f"{prefix}{i:05d}", f"{content} {i}") for i in range(n)])


@pytest.fixture
def twilio_gateway(settings):
    with LatencyGateway(kind="twilio", delay=0.05) as gateway:
        for name, value in twilio_settings(gateway.url).items():
            setattr(settings, name, value)
        settings.SMS_DEFAULT_BACKEND = "twilio"
        settings.SMS_GATEWAY_TIMEOUT_SECONDS = 5
        yield gateway


def test_a_batch_goes_out_with_the_configured_requests_in_flight(settings, twilio_gateway):
    settings.SMS_SEND_CONCURRENCY = 8
    queue(40)
    summary = dispatch(batch_size=200)
    assert summary.sent == 40
    assert OutboundMessage.objects.filter(state=State.SENT).count() == 40
    assert twilio_gateway.duplicates() == 0 and twilio_gateway.texts == 40
    # Up to 8 at a time, never more (the speed-up itself is measured by bench/dispatch_latency.py).
    assert 4 <= twilio_gateway.max_in_flight <= 8
    assert set(OutboundMessage.objects.values_list("external_id", flat=True)) != {""}


def two_in_flight_router(messages):
    """The default routes, each asking for two requests in flight (as a SIM row can)."""
    from sms.routing import default_router

    routes = default_router(messages)
    for route in routes:
        route.max_in_flight = 2
    return routes


def test_a_route_can_ask_for_fewer_requests_in_flight(settings, twilio_gateway):
    settings.SMS_SEND_CONCURRENCY = 8
    settings.SMS_ROUTER = f"{__name__}.two_in_flight_router"
    queue(12)
    dispatch()
    assert twilio_gateway.max_in_flight == 2
    assert OutboundMessage.objects.filter(state=State.SENT).count() == 12


class StopsMidBatch(BaseBackend):
    """Answers after 30 ms; the 11th call stops the process (a SIGKILL, as far as the
    database can tell: nothing after it is committed)."""

    slug = "stops"
    calls: list[int] = []
    lock = threading.Lock()

    def publish_message(self, message):
        with self.lock:
            self.calls.append(message.pk)
            nth = len(self.calls)
        time.sleep(0.03)
        if nth == 11:
            raise SystemExit("killed")
        return SendResult(message=message, external_id=f"stops-{message.pk}")


def test_a_dispatcher_stopped_mid_batch_strands_only_its_requests_in_flight(settings, outbox):
    settings.SMS_BACKENDS = {**settings.SMS_BACKENDS, "stops": f"{__name__}.StopsMidBatch"}
    settings.SMS_DEFAULT_BACKEND = "stops"
    settings.SMS_SEND_CONCURRENCY = 4
    StopsMidBatch.calls = []
    queue(60)
    with pytest.raises(SystemExit):
        dispatch(batch_size=60)
    time.sleep(0.1)  # the other threads' requests end; their answers are never recorded
    rows = OutboundMessage.objects.all()
    stranded = rows.filter(state=State.SENDING, request_started_at__isnull=False).count()
    never_left = rows.filter(state=State.SENDING, request_started_at__isnull=True).count()
    sent = rows.filter(state=State.SENT).count()
    assert 1 <= stranded <= 4  # at most the requests in flight
    assert sent + stranded == len(StopsMidBatch.calls)  # every answered request is on record
    assert sent + stranded + never_left == 60
    assert recover_stuck(timeout=timedelta(0)) == {"requeued": never_left, "unknown": stranded}
    settings.SMS_DEFAULT_BACKEND = "locmem"
    dispatch()
    assert len(outbox) == never_left  # exactly the texts that never left, once each
    assert rows.filter(state=State.UNKNOWN).count() == stranded
    assert rows.filter(state=State.SENT).count() == 60 - stranded


def test_a_report_that_beats_the_dispatchers_record_is_kept(settings, outbox):
    """The gateway's delivery report arrives while our request is still being answered."""

    (message,) = queue(1)
    (claimed,) = claim_batch(size=1)
    claimed.backend = "locmem"

    class ReportFirst(BaseBackend):
        slug = "locmem"

        def publish_message(self, m):
            return SendResult(message=m, external_id="gw-1")

    # The report lands between the call and our record of it.
    OutboundMessage.objects.filter(pk=message.pk).update(state=State.DELIVERED)
    from sms.routing import Route

    _record([SendResult(message=claimed, external_id="gw-1")], Route(backend=ReportFirst()), DispatchSummary())
    message.refresh_from_db()
    assert message.state == State.DELIVERED and message.external_id == "gw-1"
    assert not message.status_changes.filter(state=State.SENT).exists()


def test_route_rate_limit_spaces_the_requests(settings, twilio_gateway):
    settings.SMS_SEND_RATE_PER_SECOND = 25
    settings.SMS_SEND_CONCURRENCY = 16
    settings.SMS_RATE_LIMIT_STORE = "database"
    ratelimit.reset("backend:twilio")
    queue(26)
    started = time.monotonic()
    dispatch()
    elapsed = time.monotonic() - started
    assert OutboundMessage.objects.filter(state=State.SENT).count() == 26
    assert elapsed >= 0.95  # 25 intervals of 40 ms
    assert twilio_gateway.busiest(1.0) <= 25 * 1.1 + 1
    assert RateBucket.objects.filter(key="backend:twilio").exists()


def test_twilio_counts_segments_against_the_limit(settings, twilio_gateway):
    settings.SMS_SEND_RATE_PER_SECOND = 20
    settings.SMS_RATE_LIMIT_STORE = "database"
    ratelimit.reset("backend:twilio")
    queue_messages([build_message(f"+44791110{i:04d}", "x" * 300) for i in range(6)])  # 2 segments each
    started = time.monotonic()
    dispatch()
    assert time.monotonic() - started >= 0.5  # 12 segments at 20/s: the last starts at 0.5 s
    assert OutboundMessage.objects.filter(state=State.SENT, segments=2).count() == 6


def test_database_limiter_books_consecutive_slots(settings):
    settings.SMS_RATE_LIMIT_STORE = "database"
    ratelimit.reset("t")
    waits = [ratelimit.reserve("t", 10, 1) for _ in range(5)]
    # Each booking starts 100 ms after the previous one (less the time the loop took).
    assert waits[0] < 0.05
    assert all(0.05 < b - a <= 0.1001 for a, b in itertools.pairwise(waits))
    assert ratelimit.reserve("t", 0, 1) == 0.0  # no limit


@pytest.fixture
def redis_cache(settings):
    from sms.tests.celery_workers import REDIS_URL, redis_or_skip

    redis_or_skip()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"ratelimit-test-{time.monotonic_ns()}",
        }
    }
    yield  # (changing CACHES resets Django's cache handlers: django.test.signals)


def test_redis_limiter_holds_across_threads(settings, redis_cache):
    """50 bookings from 5 threads at 50/s: the route's next free slot ends up at least 1 s
    (50 intervals) after the first booking, on Redis's own clock, however they interleaved."""
    from django.core.cache import cache

    settings.SMS_RATE_LIMIT_STORE = "auto"
    assert ratelimit._store() == "redis"
    key = cache.make_and_validate_key("sms:rate:shared")
    client = cache._cache.get_client(key, write=True)
    seconds, micros = client.time()
    started = seconds + micros / 1e6
    waits = []

    def book():
        for _ in range(10):
            waits.append(ratelimit.reserve("shared", 50, 1))

    threads = [threading.Thread(target=book) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(waits) == 50
    assert float(client.get(key)) - started >= 50 / 50 - 1e-6
    assert max(waits) >= 0.5  # the last bookers were told to wait their turn


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent connections need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_database_limiter_holds_across_connections(settings):
    settings.SMS_RATE_LIMIT_STORE = "database"
    started = time.time()
    waits = []

    def book():
        for _ in range(8):
            waits.append(ratelimit.reserve("pg", 40, 1))

    run_concurrently(book, 5)
    assert len(waits) == 40
    assert RateBucket.objects.get(key="pg").next_free_at - started >= 40 / 40 - 1e-6
    assert max(waits) >= 0.5


def test_batch_api_gets_one_request_per_group_of_the_same_words(settings):
    with LatencyGateway(kind="smsbroadcast", delay=0.01) as gateway:
        settings.SMSBROADCAST_USERNAME = "u"
        settings.SMSBROADCAST_PASSWORD = "p"
        settings.SMSBROADCAST_API_URL = f"{gateway.url}/api-adv.php"
        settings.SMS_DEFAULT_BACKEND = "smsbroadcast"
        queue_messages([build_message(f"+6140000{i:04d}", "Same words") for i in range(5)])
        queue_messages([build_message(f"+6140001{i:04d}", f"Own words {i}") for i in range(3)])
        dispatch()
        assert gateway.duplicates() == 0 and gateway.texts == 8
        assert len(gateway.arrivals) == 4  # one request for the five, one each for the others
    assert OutboundMessage.objects.filter(state=State.SENT).count() == 8


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
@pytest.mark.django_db(transaction=True)
def test_without_synchronous_commit_everything_is_still_recorded(settings, twilio_gateway):
    settings.SMS_SEND_SYNCHRONOUS_COMMIT = False
    queue(30)
    dispatch()
    assert OutboundMessage.objects.filter(state=State.SENT, request_started_at__isnull=False).count() == 30
    assert twilio_gateway.duplicates() == 0
    with connection.cursor() as cursor:  # SET LOCAL: it never outlives the dispatcher's transaction
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
