"""The task engine across apps: every cron job has its task in the beat schedule at the same
time, each task does what its command does, and queueing in bursts asks for one dispatch."""

import re
import uuid
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.db import transaction

from campaigns import pull
from campaigns.models import PullRun
from campaigns.tasks import notify_sources, pull_campaign, send_followups
from campaigns.tests.conftest import data_source as data_source  # a fixture
from campaigns.tests.conftest import make_template
from modems.models import SimCard
from modems.simulator import ModemSimulator
from modems.tasks import modem_status, read_in
from modems.testing import create_sim
from replies import tasks as replies_tasks
from replies import training
from replies.models import ClassifierModel
from replies.testing import ensure_reply_types, label_texts
from sms import tasks as sms_tasks
from sms.models import InboundMessage, OutboundMessage
from sms.queueing import build_message, queue_messages
from sms.tests.celery_workers import MIGRATE, REDIS_URL, Workers, redis_or_skip
from texting.celery import app

ROOT = Path(__file__).resolve().parents[2]

#: crontab.txt command -> the task that does its work under celery beat.
TASK_OF_COMMAND = {
    "send_queued": "sms.tasks.dispatch_due",
    "check_delivery": "sms.tasks.check_delivery",
    "recover_inbound": "sms.tasks.recover_inbound",
    "read_in": "modems.tasks.read_in",
    "modem_status": "modems.tasks.modem_status",
    "check_balances": "modems.tasks.check_balances",
    "train_classifier": "replies.tasks.train_classifier",
    "pull_campaign": "campaigns.tasks.pull_campaign",
    "send_followups": "campaigns.tasks.send_followups",
    "notify_sources": "campaigns.tasks.notify_sources",
}


def crontab_jobs():
    jobs = {}
    for line in (ROOT / "crontab.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#") or "=" in line.split()[0]:
            continue
        minute, hour, dom, month, dow = line.split()[:5]
        command = re.search(r"manage\.py (\w+)", line).group(1)
        jobs[command] = (minute, hour, dom, month, dow, "--resort" in line)
    return jobs


def test_every_cron_job_has_its_task_in_the_beat_schedule_at_the_same_time():
    app.loader.import_default_modules()
    schedule = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    jobs = crontab_jobs()
    assert set(jobs) == set(TASK_OF_COMMAND), "a cron job without a task (or a stale mapping)"
    for command, (minute, hour, dom, month, dow, resort) in jobs.items():
        name = TASK_OF_COMMAND[command]
        assert name in app.tasks, name
        assert app.tasks[name].acks_late is True
        entry = schedule[name]
        every = entry["schedule"]
        if isinstance(every, float):  # the core's interval entries: every N seconds = */N minutes
            expected = "*" if every == 60 else f"*/{int(every // 60)}"
            assert (minute, hour) == (expected, "*"), command
        else:
            assert every == crontab(minute=minute, hour=hour, day_of_month=dom, month_of_year=month, day_of_week=dow)
        if resort:
            assert entry["kwargs"] == {"resort": True}


# --- Eager mode (no broker): each task does its command's work ---------------------------------


@pytest.fixture
def campaign_settings(settings):
    settings.CAMPAIGNS_SENDING_HOURS = "00:00-00:00"
    settings.CAMPAIGNS_MAX_PER_DAY = settings.CAMPAIGNS_MAX_PER_WEEK = 0
    settings.CAMPAIGNS_PULL_IN_BACKGROUND = False


@pytest.mark.django_db
def test_campaign_tasks_pull_follow_up_and_notify(campaign_settings, data_source, outbox):
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.models import Recipient
    from sms.dispatch import dispatch

    make_template(body="Hi {name}", followup_body="Again {name}", followup_delay=timedelta(days=2))
    data_source.answer({"Group A": [["07450000001", "Ann"], ["07450000002", "Bob"]]})
    assert "succeeded" in pull_campaign.delay().get()
    assert PullRun.objects.get().queued == 2
    dispatch()
    assert "1 new notifications" in notify_sources.delay().get()
    assert len(data_source.posts) == 1
    past = timezone.now() - timedelta(days=3)
    OutboundMessage.objects.update(sent_at=past, created_at=past)
    Recipient.objects.update(created_at=past)
    assert send_followups.delay().get().startswith("2 follow-ups queued")


@pytest.mark.django_db
def test_a_redelivered_pull_task_does_not_run_a_taken_pull_again(campaign_settings, data_source):
    run = PullRun.objects.create(trigger="button", state=PullRun.State.SUCCEEDED)
    assert pull_campaign.delay(run.pk).get() == f"Pull #{run.pk} is not queued any more"
    assert data_source.gets == []


@pytest.mark.django_db
def test_modem_tasks_read_in_and_check_status(settings):
    settings.MODEMS_COMMAND_TIMEOUT = settings.MODEMS_SEND_TIMEOUT = 1.0
    with ModemSimulator() as modem:
        sim = create_sim(device=modem.port, number="+447700900555")
        modem.deliver("+447911123001", "Yes please")
        assert "1 stored" in read_in.delay().get()
        assert InboundMessage.objects.get().content == "Yes please" and modem.storage == {}
        modem_status.delay().get()
    assert SimCard.objects.get(pk=sim.pk).status_checked_at is not None


@pytest.mark.django_db
def test_train_classifier_task_trains_a_version(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.REPLIES_MIN_LABELS_PER_TYPE = 5
    ensure_reply_types()
    label_texts(12)
    assert replies_tasks.train_classifier.delay().get().startswith("Classifier v1 ready")
    assert ClassifierModel.objects.get().status == "ready"


# --- With a broker: one dispatch_due per burst; pull now and retrain go to the workers ----------


@pytest.fixture
def redis_broker(settings):
    redis_or_skip()
    import redis

    queue = f"texting-test-{uuid.uuid4().hex[:8]}"
    settings.CELERY_BROKER_URL = REDIS_URL
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": queue,
        }
    }
    app.conf.broker_url = REDIS_URL
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    _forget_routes()
    client = redis.Redis.from_url(REDIS_URL)
    try:
        yield lambda: client.llen(queue)
    finally:
        client.delete(queue)
        app.conf.task_always_eager = True
        app.conf.broker_url = None
        app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
        _forget_routes()


def _forget_routes():
    """Celery caches the queues, router and connection pools it built from the configuration
    on first use (an eager task earlier in the session built them without a broker)."""
    for name in ("queues", "default_queue", "default_exchange", "router", "routes", "_rtable"):
        app.amqp.__dict__.pop(name, None)
    from kombu import pools

    pools.reset()  # closes and forgets every pooled connection
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.django_db
def test_a_burst_of_queueing_enqueues_one_dispatch(redis_broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(50):  # a fan-out's batches, each its own queue_messages call
            with transaction.atomic():
                queue_messages([build_message(f"+4479111{i:03d}{j:02d}", "Hi") for j in range(3)])
    assert redis_broker() == 1
    sms_tasks._forget_kick()  # what dispatch_due does as it starts: texts after this need a kick
    with django_capture_on_commit_callbacks(execute=True):
        queue_messages([build_message("+447911199999", "Later")])
    assert redis_broker() == 2


@pytest.mark.django_db
def test_a_rolled_back_queueing_takes_no_lock(redis_broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                queue_messages([build_message("+447911100001", "Hi")])
                raise RuntimeError
        except RuntimeError:
            pass
        queue_messages([build_message("+447911100002", "Hi")])
    assert redis_broker() == 1


@pytest.mark.django_db
def test_pull_now_and_retrain_go_to_a_worker_when_there_is_a_broker(
    redis_broker, django_capture_on_commit_callbacks, staff_user
):
    pull.threads.clear()
    with django_capture_on_commit_callbacks(execute=True):
        run = pull.start_pull(user=staff_user)
    assert pull.threads == [] and redis_broker() == 1
    assert PullRun.objects.get(pk=run.pk).state == PullRun.State.QUEUED  # the worker takes it
    assert training.start_training() == "task" and redis_broker() == 2


# --- A real worker on Redis ----------------------------------------------------------------------

BURST = """
from django.db import transaction
from sms.queueing import build_message, queue_messages
for i in range(30):
    with transaction.atomic():
        queue_messages([build_message(f"+4479111{i:03d}{j:02d}", f"Hello {i}") for j in range(10)])
"""


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_real_worker_sends_a_burst_from_one_enqueued_dispatch(engine, tmp_path):
    import redis

    with Workers(engine, tmp_path, CACHE_URL=REDIS_URL) as workers:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            workers.shell(MIGRATE + BURST)  # 30 commits of 10 texts
            assert client.llen(workers.queue) == 1  # one dispatch_due asked for, not 30
            workers.start("burst")
            assert workers.wait_for_states({"sent": 300}) == {"sent": 300}
            assert workers.query("SELECT MAX(number_of_send_attempts) FROM sms_outboundmessage") == [(1,)]
        finally:
            client.delete(workers.queue)
            client.delete(f"{workers.queue}:1:{sms_tasks.KICK_LOCK}")
