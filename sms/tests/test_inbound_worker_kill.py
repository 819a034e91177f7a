"""Nothing lost when the worker running the deferred inbound pipeline dies (issue 11).

Real Redis, a real Celery worker, real PostgreSQL: texts are stored by the webhook path with
their deferred steps queued; the worker sorts some, is SIGKILLed in the middle of one, and
``recover_inbound`` (the cron/beat job) finishes the rest from the stored texts. A second worker
then gets the tasks left on the broker and finds nothing to do: each text is sorted once.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from sms.tests.celery_workers import MIGRATE, Workers

TEXTS = 12
STORE = f"""
from sms.backends import InboundData
from sms.receiving import store_inbound
for i in range({TEXTS}):
    store_inbound("locmem", InboundData(sender=f"+4479113{{i:05d}}", content=f"Thanks, see you at {{i}}", external_id=f"k-{{i}}"))
"""
SORTED = "SELECT COUNT(*) FROM sms_inboundmessage WHERE pipeline_state = 'done'"


def slow_step(message):
    """A deferred step that takes a while, so the kill lands in the middle of the pipeline."""
    time.sleep(0.4)


@pytest.mark.postgres
def test_a_killed_worker_loses_no_text_and_recovery_sorts_each_once(tmp_path):
    env = {
        "SMS_INBOUND_DEFERRED_PIPELINE": f"{__name__}.slow_step,replies.pipeline.process",
        "SMS_INBOUND_RECOVER_SECONDS": "0",
    }
    with Workers("postgresql", tmp_path, **env) as workers:
        workers.shell(MIGRATE + STORE)
        assert workers.query("SELECT pipeline_state, COUNT(*) FROM sms_inboundmessage GROUP BY 1") == [
            ("queued", TEXTS)
        ]
        assert workers.query("SELECT COUNT(*) FROM replies_reply") == [(0,)], "nothing sorted in the request"
        workers.start("doomed")
        deadline = time.monotonic() + 60
        while workers.query(SORTED)[0][0] < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)  # inside the next text's slow step
        os.killpg(workers.processes[0].pid, signal.SIGKILL)
        workers.processes[0].wait()
        done_at_kill = workers.query(SORTED)[0][0]
        assert 3 <= done_at_kill < TEXTS, "the kill must land mid-run"
        # The text being sorted when the worker died was rolled back with its connection.
        assert workers.query("SELECT COUNT(*) FROM replies_reply") == [(done_at_kill,)]

        out = workers.shell("from django.core.management import call_command; call_command('recover_inbound')")
        assert f"Done: {TEXTS - done_at_kill} sorted" in out
        assert workers.query(SORTED) == [(TEXTS,)]

        # The tasks still on the broker reach a new worker: each finds its text done.
        workers.start("survivor")
        time.sleep(3)
        assert workers.processes[1].poll() is None
        assert workers.query("SELECT COUNT(*), COUNT(DISTINCT message_id) FROM replies_reply") == [(TEXTS, TEXTS)]
        assert workers.query(SORTED) == [(TEXTS,)]
