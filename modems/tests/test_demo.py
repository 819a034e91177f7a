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


def test_the_demo_account_shows_a_balance_that_goes_down_as_it_sends():
    from modems.balances import check_balance

    demo.load(io.StringIO())
    account = SimCard.objects.get(backend="simulated")
    assert (account.balance, account.balance_currency, account.balance_error) == (40, "EUR", "")
    assert list(SimCard.objects.low_on_balance()) == [account]  # the dashboard's warning in the demo
    for i in range(25):
        create_message(f"+4479111230{i:02d}")
    dispatch()
    check_balance(account)
    assert account.balance == 39
