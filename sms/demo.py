"""Demo data for the messaging core: contacts, a morning of texts, their replies."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from sms.api import send
from sms.delivery import check_delivery
from sms.dispatch import dispatch
from sms.models import OutboundMessage

NAMES = [
    "Michael",
    "Monica",
    "Aisha",
    "Tomasz",
    "Siobhan",
    "Raj",
    "Chloé",
    "Kwame",
    "Zoë",
    "Bartek",
    "Priya",
    "Liam",
    "Fatima",
    "Oliver",
    "Mei",
    "Jonas",
]


def load(stdout) -> None:
    if OutboundMessage.objects.exists():
        stdout.write("sms: demo texts already present, skipped")
        return
    rng = random.Random(42)
    for index, name in enumerate(NAMES):
        number = f"07911 123{index:03d}"
        send(
            number,
            f"Hi {name}, your order is ready to collect. Reply STOP to opt out.",
            tag="demo",
            extra_sender_data={"backend": "simulated"},
        )
    send("12345", "This number is not valid", tag="demo")
    summary = dispatch()
    # Pretend they left an hour ago so the simulated network has delivered them and people replied.
    for message in OutboundMessage.objects.filter(backend="simulated"):
        OutboundMessage.objects.filter(pk=message.pk).update(
            sent_at=timezone.now() - timedelta(minutes=rng.randint(30, 120))
        )
    delivery = check_delivery()
    stdout.write(f"sms: {summary}; {delivery}")
