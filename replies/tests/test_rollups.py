"""The replies' roll-up stays exact however replies and their texts change: a recount agrees."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Campaign, Template
from replies.models import Reply, ReplyType, Source
from replies.rollups import ReplyCountDelta, reply_counts
from replies.sorting import categorise
from sms import rollups
from sms.models import InboundMessage
from sms.testing import create_inbound, create_message, run_concurrently


def _world(rng, n=30):
    k = Campaign.objects.count()
    campaigns = [Campaign.objects.create(name=f"C{k + i}") for i in range(2)]
    templates = [Template.objects.create(name=f"T{k + i}", slug=f"t{k + i}", body="Hi") for i in range(2)]
    outbound = [
        create_message(
            f"+4479111240{i:02d}", "Hello", campaign=rng.choice([*campaigns, None]), template=rng.choice(templates)
        )
        for i in range(n)
    ]
    texts = [
        create_inbound(
            f"+4479111240{i:02d}", "Thanks", in_reply_to=rng.choice([*outbound, None]), external_id=f"r{k}-{i}"
        )
        for i in range(n)
    ]
    for text in texts:
        Reply.objects.get_or_create(message=text)
    return outbound, texts


def _random_changes(rng, outbound, texts):
    """Every kind of write the app makes to replies and to the texts they belong to."""
    types = list(ReplyType.objects.all())
    for text in rng.sample(texts, len(texts) // 2):
        reply = Reply.objects.get(message=text)
        categorise(
            reply=reply,
            reply_type=rng.choice([*types, None]),
            source=rng.choice([Source.STAFF, Source.CLASSIFIER, Source.KEYWORD]),
            keyword=rng.choice(["", "stop"]),
            run_action=False,
        )
    pks = [t.pk for t in rng.sample(texts, 6)]
    Reply.objects.filter(message_id__in=pks).update(needs_review=True, source="")  # bulk back to review
    InboundMessage.objects.filter(pk__in=pks[:3]).update(received_at=timezone.now() - timedelta(days=3))
    InboundMessage.objects.filter(pk__in=pks[3:]).update(in_reply_to=rng.choice(outbound))
    outbound[0].delete()  # its replies' texts lose their link (SET NULL): their key moves to "no campaign"
    Reply.objects.filter(message_id=texts[1].pk).delete()
    InboundMessage.objects.filter(pk=texts[2].pk).delete()  # the text and (cascade) its reply
    with transaction.atomic():  # deferred foreign keys: the text can go before its reply
        InboundMessage.objects.filter(pk=texts[3].pk)._raw_delete(connection.alias)
        Reply.objects.filter(message_id=texts[3].pk)._raw_delete(connection.alias)
    if types:
        types[-1].delete()  # its replies go back to review


@pytest.mark.django_db
def test_reply_rollup_agrees_with_a_recount_after_random_changes():
    rng = random.Random(7)
    outbound, texts = _world(rng)
    _random_changes(rng, outbound, texts)
    assert rollups.drift()["replies"] == []
    rollups.compact()
    assert not ReplyCountDelta.objects.exists() and rollups.drift()["replies"] == []
    outbound, texts = _world(rng)
    _random_changes(rng, outbound, texts)  # deltas on top of compacted counts
    assert rollups.drift()["replies"] == []


@pytest.mark.django_db
def test_reply_counts_match_hand_counted_replies():
    campaign = Campaign.objects.create(name="Spring")
    thanks, end = ReplyType.objects.get(slug="thanks"), ReplyType.objects.get(slug="end")
    first = create_message("+447911100001", "Hi", campaign=campaign)
    second = create_message("+447911100002", "Hi", campaign=campaign)
    for sender, answered, reply_type, source in (
        ("+447911100001", first, thanks, Source.STAFF),
        ("+447911100001", first, thanks, Source.CLASSIFIER),
        ("+447911100002", second, end, Source.KEYWORD),
        ("+447911100002", second, None, ""),
        ("+447911100003", None, thanks, Source.STAFF),  # not a reply to a campaign text
    ):
        reply, _ = Reply.objects.get_or_create(message=create_inbound(sender, "x", in_reply_to=answered))
        if reply_type is not None:
            categorise(reply=reply, reply_type=reply_type, source=source, run_action=False)
    per_type = rollups.totals(reply_counts(by=("reply_type_pk",), campaign_pk=campaign.pk))
    assert per_type == {thanks.pk: 2, end.pk: 1, 0: 1}
    today = timezone.localdate()
    by_source = rollups.totals(reply_counts(by=("source",), first=today, last=today))
    assert by_source == {"staff": 2, "classifier": 1, "keyword": 1, "": 1}
    waiting = rollups.totals(reply_counts(by=("needs_review",)))
    assert waiting == {True: 1, False: 4}


@pytest.mark.django_db
def test_a_rolled_back_categorisation_is_not_counted():
    reply, _ = Reply.objects.get_or_create(message=create_inbound("+447911100009", "x"))
    with pytest.raises(RuntimeError), transaction.atomic():
        categorise(reply=reply, reply_type=ReplyType.objects.get(slug="thanks"), source=Source.STAFF)
        raise RuntimeError
    assert rollups.totals(reply_counts(by=("needs_review",))) == {True: 1}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reply_rollup_stays_exact_under_concurrent_sorting_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    from replies.testing import ensure_reply_types

    ensure_reply_types()  # an earlier transactional test's flush removed the seeded ones
    rng = random.Random(3)
    outbound, texts = _world(rng, n=60)
    pks = [t.pk for t in texts]
    types = list(ReplyType.objects.values_list("pk", flat=True))
    lock = threading.Lock()
    seeds = iter(range(100))

    def worker():
        with lock:
            rng = random.Random(next(seeds))
        for _ in range(15):
            chosen = rng.sample(pks, 5)
            Reply.objects.filter(message_id__in=chosen).update(
                reply_type_id=rng.choice(types), source=Source.STAFF, needs_review=False
            )
            reply = Reply.objects.get(message_id=rng.choice(pks))
            categorise(reply=reply, reply_type=None, source=Source.CLASSIFIER, run_action=False)
            InboundMessage.objects.filter(pk=rng.choice(pks)).update(in_reply_to=rng.choice(outbound))
            if rng.random() < 0.3:
                rollups.compact()
        return True

    assert run_concurrently(worker, 6) == [True] * 6
    assert rollups.drift()["replies"] == []
    rollups.compact()
    assert rollups.drift()["replies"] == []
    assert sum(rollups.totals(reply_counts(by=("needs_review",))).values()) == 60
