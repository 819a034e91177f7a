"""Steps 4-5 of the workflow with the links app: the keyword's reply carries a personal link;
opening it on a phone records the click and hands over to the target view."""

import re

import pytest
from django.apps import apps

from keywords.models import Dispatch
from keywords.testing import create_keyword, create_number, receive

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not apps.is_installed("links"), reason="the links app is not installed"),
]

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


def test_a_keyword_reply_link_opens_the_target_view_and_counts_the_click(client):
    create_number("567")
    create_keyword(
        "ABC",
        handler="keywords.testing.reward",
        reply_template="Finish here: {link}",
        link_view="keywords.handlers_demo.purchase",
    )
    message = receive("ABC.UNICORN", to="567", sender="+447911123456")
    reply = Dispatch.objects.get(message=message).reply
    (url,) = re.findall(r"https://texting\.example\.com(/l/\S+)", reply.content)
    response = client.get(url, headers={"User-Agent": PHONE})
    assert response.status_code == 200 and b"Finish your purchase" in response.content
    assert b"+44791112****" in response.content
    from links.models import Click

    click = Click.objects.get()
    assert click.is_unique and not click.is_bot and click.link.message == reply
