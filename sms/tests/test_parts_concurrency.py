"""Parts of a long text, and per-part delivery reports, arriving at the same moment
(PostgreSQL: real concurrent transactions)."""

import pytest
from django.db import connection

from sms.backends.base import InboundData, StatusReport
from sms.backends.parts import receive_part, settle_part
from sms.models import InboundMessage, OutboundMessage, State
from sms.receiving import store_inbound
from sms.testing import create_message, run_concurrently

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent transactions need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def test_parts_arriving_together_make_one_text():
    for round_ in range(5):
        parts = iter(range(1, 5))

        def deliver(round_=round_, parts=parts):
            seq = next(parts)
            data = InboundData(sender="+447911123456", content=f"<{seq}>", external_id=f"r{round_}-p{seq}")
            whole = receive_part("vonage", data, concat_ref=f"ref{round_}", seq=seq, total=4)
            if whole:  # what the webhook does with it
                store_inbound("vonage", whole)

        run_concurrently(deliver, 4)
    texts = list(InboundMessage.objects.order_by("pk"))
    assert [t.content for t in texts] == ["<1><2><3><4>"] * 5


def test_part_reports_arriving_together_settle_the_text_once_all_are_in():
    message = create_message(content="x" * 400)
    OutboundMessage.objects.filter(pk=message.pk).update(state=State.SENT, extra_sender_data={"part_count": 3})
    parts = iter(range(1, 4))

    def report():
        part = next(parts)
        return settle_part(
            "vonage",
            StatusReport(reference=str(message.reference), state="delivered", gateway_status="delivered"),
            part_id=f"P{part}",
        ).state

    states = run_concurrently(report, 3)
    assert sorted(states, key=str) == sorted(["delivered", None, None], key=str)
    message.refresh_from_db()
    assert message.extra_sender_data["part_states"] == {"P1": "delivered", "P2": "delivered", "P3": "delivered"}
