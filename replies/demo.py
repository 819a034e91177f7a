"""Demo data for replies: a few weeks of replies sorted by staff, a first model, the rest sorted."""

from __future__ import annotations

import random
from datetime import timedelta

from django.test.utils import override_settings
from django.utils import timezone

from replies.classifier import train
from replies.fixtures_gen import load_rows
from replies.models import Label, Reply, ReplyType, Source
from replies.sorting import categorise, resort_pending
from sms.models import Contact, InboundMessage

PER_TYPE = 40  # staff-labelled texts of each type
UNSORTED = 25  # texts left for the first model to sort


def load(stdout) -> None:
    with override_settings(REPLIES_RETRAIN_AFTER_LABELS=0):  # one training at the end, not one per 50 labels
        _load(stdout)


def _load(stdout) -> None:
    if Label.objects.filter(source=Source.STAFF).exists():
        stdout.write("replies: demo labels already present, skipped")
        return
    rng = random.Random(7)
    types = {t.slug: t for t in ReplyType.objects.all()}
    wanted = dict.fromkeys(types, PER_TYPE)
    ReplyType.objects.filter(slug="thanks").update(auto_reply_text="{greeting} {name}, thank you for your reply!")
    labelled, unsorted = 0, []
    now = timezone.now()
    for index, (text, label, _) in enumerate(load_rows()):
        if label == "end" and text.strip().upper() in {"STOP", "END", "QUIT", "CANCEL"}:
            continue  # bare keywords are the keyword check's job, not staff's
        staff = wanted.get(label, 0) > 0
        if not staff and len(unsorted) >= UNSORTED:
            if labelled >= PER_TYPE * len(types):
                break
            continue
        number = f"+447911124{index % 1000:03d}"
        contact, _ = Contact.objects.get_or_create(number=number)
        message = InboundMessage.objects.create(
            sender=number,
            content=text,
            backend="demo",
            external_id=f"demo-{index}",
            received_at=now - timedelta(days=rng.randint(2, 30), minutes=rng.randint(0, 1440)),
            contact=contact,
        )
        reply = Reply.objects.create(message=message)
        if staff:
            wanted[label] -= 1
            # Staff sorted these weeks ago: End still opts the number out, nobody is texted.
            categorise(reply=reply, reply_type=types[label], source=Source.STAFF)
            labelled += 1
        else:
            unsorted.append(reply)
    row = train()
    note = f"model v{row.version} {row.status}"
    if row.status == row.Status.READY:
        note += f" ({row.algorithm}, macro-F1 {row.metrics['macro_f1']:.2f}); {resort_pending()} texts sorted by it"
    stdout.write(f"replies: {labelled} texts sorted by staff, {len(unsorted)} left; {note}")
