"""The task engine: a Celery app configured from Django settings (``CELERY_*``).

With ``CELERY_BROKER_URL`` empty (the default) tasks run eagerly, inline in the caller, and
cron (``crontab.txt``) drives the scheduled work. With a Redis or RabbitMQ broker, run
``make worker`` (``celery -A texting worker --beat``) on one machine, plus any number of
``celery -A texting worker`` elsewhere: dispatchers claim rows with SKIP LOCKED, so they
share one queue without sending a text twice.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "texting.settings")

app = Celery("texting")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The cron jobs of crontab.txt, for deployments that run celery beat instead of cron.
app.conf.beat_schedule = {
    "dispatch-due": {"task": "sms.tasks.dispatch_due", "schedule": 60.0},
    "recover-stuck": {"task": "sms.tasks.recover_stuck", "schedule": 300.0},
    "check-delivery": {"task": "sms.tasks.check_delivery", "schedule": 600.0},
}
