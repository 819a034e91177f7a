import io

import pytest

from modems import demo
from modems.models import SimCard
from sms.dispatch import dispatch
from sms.models import OutboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db


def test_demo_sims_send_through_the_simulated_gateway_and_load_once():
    out = io.StringIO()
    demo.load(out)
    demo.load(out)
    assert SimCard.objects.count() == 2 and "skipped" in out.getvalue()
    create_message()
    assert dispatch().sent == 1
    message = OutboundMessage.objects.get()
    assert message.state == State.SENT and message.backend == "simulated" and message.sim.name == "Demo gateway account"
