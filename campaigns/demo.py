"""Demo campaigns: one that went out three days ago (focus groups, a skipped group, rejected rows
of every kind, replies sorted by type, follow-ups), one scheduled for tomorrow and one paused.

Everything goes through the real paths (fan-out, the campaign and SIM routers, the dispatcher,
the inbound pipeline with the demo's classifier, follow-ups) and is then dated back. Loaded
after the replies demo (``ORDER``) so replies are sorted by a trained model, and after the
modems demo so texts go out through the demo gateway SIM. Skipped when campaigns exist.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.conf import settings
from django.test.utils import override_settings
from django.utils import timezone

from campaigns.control import refresh_states
from campaigns.fanout import BadRow, SourceRow, create_campaign, fan_out
from campaigns.followups import send_followups
from campaigns.models import TAG_FIRST, TAG_FOLLOWUP, Campaign, PullRun, Template
from replies.models import Reply, ReplyType, Source
from replies.sorting import categorise
from sms.backends import InboundData
from sms.dispatch import dispatch
from sms.models import OutboundMessage, State, StatusChange
from sms.receiving import store_inbound

#: After the modems and replies demos (load_demo sorts demo modules by ORDER, default 0).
ORDER = 10
#: Where ``make run`` serves the demo.
DEV_SERVER = "http://127.0.0.1:8000"

LOYAL = [
    "Amelia Hughes", "Noah Walker", "Isla Roberts", "Harry Green", "Ava Hall", "Leo Wood",
    "Mia Thompson", "Jack Edwards", "Ella Turner", "Oscar Hill", "Freya Moore", "George King",
    "Poppy Lee", "Arthur Baker", "Ivy Harris", "Alfie Clark", "Rosie Lewis", "Theo Young",
    "Daisy Allen", "Finley Scott",
]  # fmt: skip
NEW = ["Layla Price", "Reuben Bell", "Nora Cox", "Elijah Ward", "Maisie Gray", "Ezra Hughes", "Evie Cook", "Zane Bird"]
REPLIES = [  # picked in turn, so every kind of answer shows up once or twice
    "Thanks, see you Saturday!",
    "Thank you so much",
    "STOP",
    "Can I use it online too?",
    "What time do you open on Sunday?",
    "Auto-reply: I am out of the office until Monday",
    "Who is this?",
    "Great, thanks!",
    "please stop texting me",
    "Not interested, remove me",
]


def load(stdout) -> None:
    if Campaign.objects.exists():
        stdout.write("campaigns: demo campaigns already present, skipped")
        return
    rng = random.Random(11)
    now = timezone.now()
    # The loyal customers' text carries a tracked link: it needs the site's public address
    # (`make run` sets it; a bare load_demo gets the development server's).
    with override_settings(SMS_PUBLIC_URL=settings.SMS_PUBLIC_URL or DEV_SERVER):
        loyal, new, christmas = _templates()
        # The demo's history happened in daylight; the real sending window applies from now on.
        with override_settings(CAMPAIGNS_SENDING_HOURS="00:00-00:00"):
            sent = _sent_campaign(now, rng, loyal, new)
        _scheduled_campaign(now, christmas)
        _paused_campaign(now, new)
    stdout.write(f"campaigns: 3 templates, 3 campaigns ({sent}); one scheduled for tomorrow, one paused by staff")


def _templates() -> tuple[Template, Template, Template]:
    loyal = Template(
        name="Loyal customers",
        slug="loyal",
        body="{greeting} {name}! 15% off for our regulars this week, code THANKYOU15: {link}",
        link_url="https://shop.example.com/offers/thankyou15",
        followup_body="{name}, your 15% off (code THANKYOU15) ends on Sunday. Hope to see you soon!",
        followup_alt_body="Thanks for your reply, {name}! Your code THANKYOU15 works until Sunday.",
    )
    new = Template(
        name="New customers",
        slug="welcome",
        body="{greeting} {name}, welcome to the {shop} shop! Show this text at the till for a free coffee.",
        extra_fields="shop",
        followup_body="{name}, your free coffee at {shop} is waiting for you this week.",
    )
    christmas = Template(
        name="Christmas opening",
        slug="christmas",
        body="{greeting} {name}! We're open until 8pm every day until Christmas Eve.",
        followup_delay=timedelta(days=3),
    )
    for template in (loyal, new, christmas):
        template.full_clean()
        template.save()
    return loyal, new, christmas


def _rows() -> tuple[list[SourceRow], list[BadRow]]:
    rows = [SourceRow("Loyal customers", f"07400 3{i:05d}", name) for i, name in enumerate(LOYAL)]
    shops = ["Camden", "Leeds", "Camden", "Bristol"]
    rows += [
        SourceRow("New customers", f"07400 3{100 + i:05d}", name, {"shop": shops[i % len(shops)]})
        for i, name in enumerate(NEW)
    ]
    rows += [SourceRow("VIP", f"07400 3{200 + i:05d}", name) for i, name in enumerate(["Lord Grantham", "Lady Mary"])]
    rows += [
        SourceRow("Loyal customers", "12345", "Short Number"),  # invalid
        SourceRow("Loyal customers", "+44 7400 300001", "Noah Walker"),  # duplicate of a row above
        SourceRow("Loyal customers", "07400 399001", ""),  # the template says {name}
        SourceRow("New customers", "07400 399002", "Kim Shopless"),  # no {shop}
        SourceRow("Loyal customers", "07400 100003", "Tomasz Nowak"),  # opted out in the sms demo
    ]
    return rows, [BadRow("Loyal customers", '{"telephone": "07400 399003"}', "no number field")]


def _sent_campaign(now, rng: random.Random, loyal: Template, new: Template) -> str:
    """Pulled three days ago at 10:00, sent, delivered, answered, followed up a day later."""
    start = timezone.make_aware(datetime.combine(timezone.localdate(now) - timedelta(days=3), time(10, 0)))
    campaign = Campaign.objects.create(
        name=f"Pull {start:%Y-%m-%d}",
        key=f"pull:{start:%Y-%m-%d}",
        source=Campaign.Source.PULL,
        created_at=start,
    )
    rows, bad = _rows()
    result = fan_out(campaign=campaign, rows=rows, bad_rows=bad, now=start)
    PullRun.objects.create(
        trigger="cron",
        campaign=campaign,
        state=PullRun.State.SUCCEEDED,
        created_at=start,
        started_at=start,
        heartbeat_at=start,
        finished_at=start + timedelta(seconds=2),
        rows_total=result.rows,
        rows_done=result.rows,
        queued=result.queued,
        rejected=result.rejected_total,
        summary=str(result),
    )
    dispatch()
    firsts = list(campaign.messages.filter(tag=TAG_FIRST).order_by("pk"))
    for index, message in enumerate(firsts):
        sent_at = start + timedelta(minutes=1 + index % 20)
        _date_back(message, sent_at)
        if index % 13 == 5:
            message.set_state(State.ERROR_UPDATE, at=sent_at + timedelta(seconds=40), note="Absent subscriber")
            continue
        delivered_at = sent_at + timedelta(seconds=rng.randint(3, 90))
        message.mark_delivered(at=delivered_at, note="Simulated network: delivered")
        if index % 5 in (0, 2):
            store_inbound(
                "simulated",
                InboundData(
                    sender=message.recipient,
                    recipient=message.sender,
                    content=REPLIES[(index // 2) % len(REPLIES)],
                    external_id=f"demo-campaign-{message.reference}",
                    received_at=delivered_at + timedelta(minutes=rng.randint(2, 240)),
                ),
                sim_id=message.sim_id,  # answers come back on the SIM that sent the text
            )
    _staff_sort(campaign)
    # The follow-ups went out a day later, two days after the first texts (the templates' delay).
    later = start + timedelta(days=2, hours=1)
    send_followups(now=later)
    dispatch()
    for message in campaign.messages.filter(tag=TAG_FOLLOWUP, state__in=[State.SENT, State.DEBUG]):
        _date_back(message, later + timedelta(minutes=rng.randint(0, 30)))
        message.mark_delivered(at=message.sent_at + timedelta(seconds=20), note="Simulated network: delivered")
    refresh_states(now=later + timedelta(hours=1))
    return str(result)


def _staff_sort(campaign: Campaign) -> None:
    """Staff sort the replies the classifier was not sure about (it learns from these)."""
    types = {t.slug: t for t in ReplyType.objects.all()}
    waiting = Reply.objects.filter(message__in_reply_to__campaign=campaign, reply_type__isnull=True)
    for reply in waiting.select_related("message")[:3]:
        text = reply.message.content.lower()
        slug = "misc" if "?" in text else "thanks"
        if slug in types:
            categorise(reply=reply, reply_type=types[slug], source=Source.STAFF)


def _date_back(message: OutboundMessage, at) -> None:
    OutboundMessage.objects.filter(pk=message.pk).update(
        created_at=min(at, message.created_at), changed_at=at, sent_at=at
    )
    StatusChange.objects.filter(message=message).update(at=at)
    message.refresh_from_db()


def _scheduled_campaign(now, christmas: Template) -> None:
    tomorrow = timezone.make_aware(datetime.combine(timezone.localdate(now) + timedelta(days=1), time(10, 0)))
    rows = [SourceRow(christmas.name, f"07400 4{i:05d}", name) for i, name in enumerate(LOYAL[:12])]
    create_campaign(name="Christmas opening hours", source=Campaign.Source.UPLOAD, rows=rows, scheduled_for=tomorrow)


def _paused_campaign(now, new: Template) -> None:
    rows = [
        SourceRow(new.name, f"07400 5{i:05d}", name, {"shop": "Camden"})
        for i, name in enumerate(["Sam Rivers", "Alex Moon", "Jo Field", "Chris Dale", "Pat Stone"])
    ]
    campaign, _ = create_campaign(name="Camden opening", source=Campaign.Source.MANUAL, rows=rows)
    campaign.pause(reason="Paused by demo: checking the coffee offer with the Camden shop first")
