from io import StringIO

import pytest

from keywords import demo
from keywords.models import Dispatch, Keyword, Number
from sms.models import OutboundMessage

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_number_two_keywords_a_handler_and_a_week_of_texts(staff_client):
    out = StringIO()
    demo.load(out)
    assert Number.objects.get().number == "567"
    abc, join = Keyword.objects.order_by("word")
    assert abc.handler == "keywords.handlers_demo.book_reward" and join.per_contact_limit == 1
    assert Dispatch.objects.filter(keyword=abc, state="done").count() >= 3
    assert OutboundMessage.objects.filter(tag="demo-reward").exists()
    assert Dispatch.objects.filter(state="limited").exists() or Dispatch.objects.filter(keyword=join).exists()
    url = out.getvalue().split("Try the broker endpoint: ")[1].strip()
    assert staff_client.get(url).content == b"OK"
    for page in ["/keywords/", f"/keywords/{abc.pk}/", "/keywords/providers/", "/keywords/words/"]:
        assert staff_client.get(page).status_code == 200
    again = StringIO()
    demo.load(again)
    assert "already present" in again.getvalue()


def test_the_demo_link_target_gets_the_recipient_and_message(rf):
    from types import SimpleNamespace

    from keywords.handlers_demo import purchase

    response = purchase(rf.get("/l/x"), SimpleNamespace(recipient="+447911123456", message=None))
    assert b"+44791112****" in response.content and b"123456" not in response.content
