from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from sms import stats
from sms.models import Contact, InboundMessage, OutboundMessage, State

pytestmark = pytest.mark.django_db


def test_load_demo_fills_two_weeks_prints_a_login_and_its_pages_render(client):
    out = StringIO()
    call_command("load_demo", stdout=out)
    text = out.getvalue()
    password = text.split("password: ")[1].split()[0]
    assert client.login(username="demo", password=password)
    assert get_user_model().objects.get(username="demo").is_staff

    _dates, series = stats.daily(days=14)
    assert sum(1 for n in series["sent"] if n) >= 12  # texts on (nearly) every day of the chart
    assert sum(series["delivered"]) > 0.8 * sum(series["sent"])
    assert sum(series["failed"]) >= 1 and sum(series["replies"]) >= 10
    states = set(OutboundMessage.objects.values_list("state", flat=True))
    assert {State.DELIVERED, State.ERROR_UPDATE, State.REFUSED, State.WAITING} <= states
    assert InboundMessage.objects.filter(in_reply_to__isnull=False).exists()
    assert Contact.objects.opted_out().exists()
    assert "demo texts over 14 days" in text

    # The demo's pages render (checked on this load: a second demo load costs seconds).
    client.force_login(get_user_model().objects.get(username="demo"))
    pages = ["/", "/sms/outbound/", "/sms/received/", "/campaigns/", "/replies/", "/modems/", "/keywords/"]
    for url in [*pages, f"/sms/contacts/{Contact.objects.first().pk}/"]:
        assert client.get(url).status_code == 200

    again = StringIO()
    call_command("load_demo", stdout=again)
    assert "already present" in again.getvalue()


def test_demo_modules_load_sims_first_and_campaigns_last():
    from sms.management.commands.load_demo import Command

    names = [module.__name__ for module in Command.demo_modules()]
    assert names[0] == "modems.demo" and names[-2:] == ["campaigns.demo", "links.demo"]
    assert names.index("sms.demo") < names.index("replies.demo")


def test_every_demo_page_renders_with_something_on_it(admin_client):
    from campaigns.models import Campaign
    from modems.models import SimCard

    call_command("load_demo", stdout=StringIO())
    contact = Contact.objects.filter(inbound__in_reply_to__campaign__isnull=False).first()
    campaign = Campaign.objects.get(source=Campaign.Source.PULL)
    sim = SimCard.objects.get(name="Demo gateway account")
    pages = {
        "/": "Latest replies",
        "/sms/outbound/": "Delivered",
        "/sms/received/": "simulated",
        "/sms/contacts/": contact.number,
        f"/sms/contacts/{contact.pk}/": "Conversation",
        f"/replies/contacts/{contact.pk}/": contact.number,
        "/campaigns/": "Christmas opening hours",
        campaign.get_absolute_url(): "Missing name",
        "/campaigns/templates/": "Loyal customers",
        "/replies/": "Review",
        "/replies/classifier/": "Classifier v1",
        "/modems/": "Demo gateway account",
        sim.get_absolute_url(): "Latest texts through this SIM",
    }
    for url, text in pages.items():
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url
    assert sim.outbound_messages.exists()  # campaign texts went out through the demo SIM


def test_the_demo_tells_one_consistent_story(admin_client):
    """No reply from the future; the demo SIM's counts are the texts it carried, as the
    dashboard counts them."""
    from datetime import timedelta

    from django.db.models import Sum
    from django.utils import timezone

    from modems.models import SimCard

    call_command("load_demo", stdout=StringIO())
    now = timezone.now()
    assert not InboundMessage.objects.filter(received_at__gt=now).exists()
    assert not OutboundMessage.objects.filter(sent_at__gt=now).exists()
    sim = SimCard.objects.get(name="Demo gateway account")
    sent_today = OutboundMessage.objects.filter(sent_at__date=timezone.localdate())
    assert sent_today.exists() and not sent_today.exclude(sim=sim).exists()  # every text went through it
    days = dict(sim.daily_counts(days=30))
    assert days[timezone.localdate()] == sent_today.aggregate(n=Sum("segments"))["n"]
    month = OutboundMessage.objects.filter(sim=sim, sent_at__gte=now - timedelta(days=29))
    assert sum(days.values()) == month.aggregate(n=Sum("segments"))["n"]
    assert sum(1 for n in days.values() if n) >= 12  # the fortnight shows on the SIM's chart
    sim_page = admin_client.get(sim.get_absolute_url()).content.decode()
    assert stats.today().sent == sent_today.count()  # the dashboard's "sent today"
    assert f"({sent_today.count()} text" in sim_page  # the same texts on the SIM page


def test_simulated_replies_are_never_stamped_in_the_future():
    from datetime import timedelta

    from django.utils import timezone

    from sms.backends.simulated import SimulatedBackend
    from sms.testing import create_message

    messages = [create_message(f"+4479111230{i:02d}", "Hi") for i in range(30)]
    for message in messages:
        message.delivered_at = timezone.now() - timedelta(seconds=10)
    replies = SimulatedBackend().fetch_inbound(messages)
    assert replies and all(reply.received_at <= timezone.now() for reply in replies)
