"""Test helpers of the replies app: receive a text through the real pipeline, label texts, train."""

from __future__ import annotations

import importlib
import itertools

from replies.fixtures_gen import load_rows
from replies.models import Reply, ReplyType, Source
from sms.backends import InboundData
from sms.models import InboundMessage
from sms.receiving import store_inbound

_ids = itertools.count(1)


def ensure_reply_types() -> None:
    """Re-create the seeded reply types (a transactional test's flush removes migration data)."""
    from django.apps import apps

    seed = importlib.import_module("replies.migrations.0002_seed_reply_types")
    seed.seed(apps, None)


def receive(content: str, sender: str = "+447911123001", *, sim_id: int | None = None, **fields) -> InboundMessage:
    """Store a text as a gateway webhook would (so the whole inbound pipeline runs)."""
    data = InboundData(sender=sender, content=content, external_id=f"in-{next(_ids)}", **fields)
    message, _ = store_inbound("locmem", data, sim_id=sim_id)
    return message


def label_texts(per_type: int = 40, *, sender_prefix: str = "+4479112") -> int:
    """Store ``per_type`` texts of each seeded type from the shipped set, labelled by staff
    (without running the pipeline's actions). Returns how many."""
    types = {t.slug: t for t in ReplyType.objects.all()}
    wanted = dict.fromkeys(types, per_type)
    count = 0
    for text, label, _ in load_rows():
        if wanted.get(label, 0) <= 0:
            continue
        wanted[label] -= 1
        message = InboundMessage.objects.create(
            sender=f"{sender_prefix}{count:05d}", content=text, backend="locmem", external_id=f"lab-{count}"
        )
        Reply.objects.create(message=message, reply_type=types[label], source=Source.STAFF, needs_review=False)
        count += 1
    return count
