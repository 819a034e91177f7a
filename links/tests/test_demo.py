import io

import pytest

from campaigns import demo as campaigns_demo
from links import demo
from links.models import Click, Link
from links.services import click_stats
from modems import demo as modems_demo
from sms.models import OutboundMessage

pytestmark = pytest.mark.django_db


def test_demo_loyal_customers_got_links_and_some_opened_them(settings):
    settings.SMS_PUBLIC_URL = ""  # a bare load_demo: the campaigns demo uses the dev server's address
    modems_demo.load(io.StringIO())
    campaigns_demo.load(io.StringIO())
    out = io.StringIO()
    demo.load(out)
    loyal = OutboundMessage.objects.filter(template__slug="loyal", tag="campaign")
    assert loyal.count() == Link.objects.filter(message__in=loyal).count() >= 15
    assert all("http://127.0.0.1:8000/l/" in m.content for m in loyal)
    assert all(m.segments == 1 for m in loyal)  # the link fits the text's single part
    stats = click_stats(loyal)
    assert 0 < stats.unique < stats.delivered and stats.opens > stats.unique and stats.bots > 0
    # Every click came after its text was delivered.
    for click in Click.objects.select_related("link__message"):
        assert click.at > click.link.message.delivered_at
    assert "clicks by recipients" in out.getvalue()
    demo.load(out)
    assert "skipped" in out.getvalue() and Click.objects.count() == stats.opens + stats.bots
