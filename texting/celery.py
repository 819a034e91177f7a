"""The task engine: a Celery app configured from Django settings (``CELERY_*``).

With ``CELERY_BROKER_URL`` empty (the default) tasks run eagerly, inline in the caller, and
cron (``crontab.txt``) drives the scheduled work. With a Redis or RabbitMQ broker, run
``make worker`` (``celery -A texting worker --beat``) on one machine, plus any number of
``celery -A texting worker`` elsewhere: dispatchers claim rows with SKIP LOCKED, so they
share one queue without sending a text twice.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "texting.settings")

app = Celery("texting")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The cron jobs of crontab.txt, for deployments that run celery beat instead of cron (same
# times; crontab entries are in settings.TIME_ZONE). texting/tests/test_celery.py checks that
# every command in crontab.txt has its task here.
app.conf.beat_schedule = {
    "dispatch-due": {"task": "sms.tasks.dispatch_due", "schedule": 60.0},
    "recover-stuck": {"task": "sms.tasks.recover_stuck", "schedule": 300.0},
    "recover-inbound": {"task": "sms.tasks.recover_inbound", "schedule": 60.0},
    "check-delivery": {"task": "sms.tasks.check_delivery", "schedule": 600.0},
    "read-in": {"task": "modems.tasks.read_in", "schedule": crontab(minute="*")},
    "modem-status": {"task": "modems.tasks.modem_status", "schedule": crontab(minute="*/15")},
    "check-balances": {"task": "modems.tasks.check_balances", "schedule": crontab(minute="7", hour="*")},
    "train-classifier": {
        "task": "replies.tasks.train_classifier",
        "schedule": crontab(minute="30", hour="3"),
        "kwargs": {"resort": True},
    },
    "pull-campaign": {"task": "campaigns.tasks.pull_campaign", "schedule": crontab(minute="*/10")},
    "send-followups": {"task": "campaigns.tasks.send_followups", "schedule": crontab(minute="*/15")},
    "notify-sources": {"task": "campaigns.tasks.notify_sources", "schedule": crontab(minute="*")},
}
