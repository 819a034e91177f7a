"""Demo data for the messaging core: two weeks of texts, delivery reports and replies.

Everything goes through the real paths (queueing, the dispatcher with the simulated network,
delivery reports, the inbound pipeline) and is then dated back over the last 14 days, so the
dashboard's chart, the lists and the conversations look like a working fortnight.
Deterministic (a fixed seed), and skipped when texts already exist.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.utils import timezone

from sms.backends import InboundData
from sms.backends.simulated import SAMPLE_REPLIES
from sms.dispatch import dispatch
from sms.models import Contact, OutboundMessage, State, StatusChange
from sms.queueing import build_message, queue_messages
from sms.receiving import store_inbound

DAYS = 14
# Whatever the default backend, the demo's history went through the simulated network: through
# the demo's gateway-account SIM when the modems demo made one (so its counts tell the same
# story as the dashboard), else straight to the simulated backend.
SIMULATED = {"prefer_backend": "simulated"}
NAMES = [
    "Michael Adeyemi",
    "Monica Geller",
    "Aisha Khan",
    "Tomasz Nowak",
    "Siobhan O'Neill",
    "Raj Patel",
    "Chloé Martin",
    "Kwame Mensah",
    "Zoë Clarke",
    "Bartek Wiśniewski",
    "Priya Sharma",
    "Liam Murphy",
    "Fatima Ali",
    "Oliver Smith",
    "Mei Chen",
    "Jonas Becker",
    "Grace Okafor",
    "Hannah Evans",
    "Yusuf Demir",
    "Sofia Rossi",
    "Ewan Fraser",
    "Niamh Byrne",
    "Arjun Mehta",
    "Lucy Wright",
]
TEXTS = [
    ("orders", "Hi {first}, your order is ready to collect from the shop. Reply STOP to opt out."),
    ("reminders", "Reminder: your appointment is tomorrow at 10:30. Reply YES to confirm or call us to change it."),
    ("promo", "{first}, 20% off everything this weekend with code SPRING20. Reply STOP to opt out."),
    ("reminders", "Hi {first}, your prescription is due for renewal. Reply YES and we'll get it ready."),
    ("promo", "Zażółć gęślą jaźń: our Polish deli counter opens on Saturday 🎉 Reply STOP to opt out."),
]


def load(stdout) -> None:
    if OutboundMessage.objects.exists():
        stdout.write("sms: demo texts already present, skipped")
        return
    rng = random.Random(42)
    now = timezone.now()
    people = [(f"07400 1{index:05d}", name) for index, name in enumerate(NAMES)]
    today = timezone.localdate()
    for days_ago in range(DAYS - 1, -1, -1):
        day = today - timedelta(days=days_ago)
        weekend = day.weekday() >= 5
        batch = rng.sample(people, rng.randint(4, 8) if weekend else rng.randint(10, 20))
        tag, body = TEXTS[(day.toordinal()) % len(TEXTS)]
        built = [
            build_message(number, body.format(first=name.split()[0]), name=name, tag=tag, extra_sender_data=SIMULATED)
            for number, name in batch
        ]
        stored = queue_messages(built)
        dispatch()
        start = timezone.make_aware(datetime.combine(day, time(9, 0)))
        for message in stored:
            sent_at = start + timedelta(minutes=rng.randint(0, 8 * 60))
            if sent_at > now - timedelta(minutes=5):
                sent_at = now - timedelta(minutes=rng.randint(5, 60))
            sent_at = max(sent_at, timezone.make_aware(datetime.combine(day, time.min)))  # still on its own day
            _settle(message, sent_at, rng, stdout)
    _extras(now, rng)
    totals = {state: OutboundMessage.objects.filter(state=state).count() for state in State.values}
    summary = ", ".join(f"{count} {state}" for state, count in totals.items() if count)
    stdout.write(f"sms: {OutboundMessage.objects.count()} demo texts over {DAYS} days ({summary})")


def _settle(message: OutboundMessage, sent_at, rng: random.Random, stdout) -> None:
    """Date a just-sent text back to ``sent_at`` and give it a delivery report and a reply."""
    message.refresh_from_db()
    refused = message.state == State.REFUSED  # the number opted out on an earlier day: never sent
    OutboundMessage.objects.filter(pk=message.pk).update(
        created_at=sent_at, changed_at=sent_at, sent_at=None if refused else sent_at
    )
    StatusChange.objects.filter(message=message).update(at=sent_at)
    if refused:
        return
    message.created_at = message.sent_at = sent_at
    roll = rng.random()
    if roll < 0.04:
        message.set_state(
            State.ERROR_UPDATE,
            at=sent_at + timedelta(seconds=rng.randint(5, 90)),
            note="Simulated: handset unreachable",
            error="Simulated: handset unreachable",
        )
        return
    if roll < 0.08 and sent_at.date() >= timezone.localdate() - timedelta(days=1):
        return  # still waiting for its delivery report
    delivered_at = sent_at + timedelta(seconds=rng.randint(3, 120))
    message.mark_delivered(at=delivered_at, note="Simulated network: delivered")
    if rng.random() < 0.3:
        received_at = delivered_at + timedelta(minutes=rng.randint(1, 180))
        if received_at < timezone.now():
            store_inbound(
                "simulated",
                InboundData(
                    sender=message.recipient,
                    recipient=message.sender,
                    content=rng.choice(SAMPLE_REPLIES),
                    external_id=f"sim-reply-{message.reference}",
                    received_at=received_at,
                ),
            )


def _extras(now, rng: random.Random) -> None:
    """What a real queue also holds: a refused number, a scheduled text, an opt-out, consent."""
    contact = Contact.objects.get(number="+447400100003")
    if not contact.is_opted_out:  # a simulated reply may already have said STOP
        contact.opt_out(reason="Replied STOP", source="keyword", evidence="Inbound text: STOP")
    contact = Contact.objects.get(number="+447400100007")
    contact.opt_in(source="web form", evidence="Signed up at the counter on the tablet form", scope="marketing")
    queue_messages(
        [
            build_message("12345", "This number is not valid", tag="orders"),
            build_message("07400 100003", "Last chance: 20% off ends tonight", tag="promo"),
            build_message(
                "07400 199001",  # a customer who has not texted back, so no reply can opt them out
                "Your order will be ready on Monday",
                tag="orders",
                next_attempt_at=now + timedelta(hours=20),
            ),
        ]
    )
