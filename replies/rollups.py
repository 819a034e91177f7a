"""The replies' daily roll-up: how the received texts were sorted, per local day received ×
campaign × template (of the text they answer) × reply type × source × keyword × waiting.

The Stats page's Replies and Sorting tabs and a campaign's reply breakdown read it instead of
joining a year of replies to their texts and the texts those answer (half a second at 200,000
replies). It is kept exact as ``sms.rollups`` keeps the texts' roll-ups, by database triggers
appending signed deltas (migration ``replies.0004_reply_rollup_triggers``):

- on ``replies_reply``: a reply sorted, re-labelled, sent back to review, deleted;
- on ``sms_inboundmessage``: a text whose day or answered text changes moves its reply's key,
  and a text deleted before its reply (deferred foreign keys allow it) takes its reply's count
  with it; the reply's own delete then finds no text and subtracts nothing.

On PostgreSQL the reply trigger share-locks the replies' texts before it reads them, so a reply
re-labelled while its text is re-linked in another transaction is counted from the committed
link, not from both sides' old values (``test_reply_rollup_stays_exact_under_concurrent_sorting``).

The one change no trigger follows is a *sent* text moving to another campaign or template
(nothing in Texting does that; ``compact_rollups --repair`` recounts if a script did).
``sms.rollups.register`` makes ``counts("replies", ...)``, ``compact()``, ``repair()`` and
``drift()`` cover this table.
"""

from __future__ import annotations

from django.db import models

from sms import rollups


class _ReplyKey(models.Model):
    day = models.DateField(help_text="Local day the text was received on")
    campaign_pk = models.IntegerField(default=0, help_text="Campaign of the text it answers; 0: none")
    template_pk = models.IntegerField(default=0, help_text="Template of the text it answers; 0: none")
    reply_type_pk = models.IntegerField(default=0, help_text="ReplyType id; 0: not sorted")
    source = models.CharField(max_length=10, blank=True)
    keyword = models.CharField(max_length=20, blank=True)
    needs_review = models.BooleanField(default=True)
    n = models.BigIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.day} campaign {self.campaign_pk} type {self.reply_type_pk}: {self.n}"


REPLY_KEY = ("day", "campaign_pk", "template_pk", "reply_type_pk", "source", "keyword", "needs_review")


class ReplyCount(_ReplyKey):
    """Replies (``n``) per key, as of the last ``compact()``."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=REPLY_KEY, name="replies_reply_count_key")]
        indexes = [models.Index(fields=["campaign_pk"], name="replies_rcount_campaign_idx")]


class ReplyCountDelta(_ReplyKey):
    """Signed changes appended by the triggers since the last ``compact()``."""

    id = models.BigAutoField(primary_key=True)

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="replies_rdelta_day_idx"),
            models.Index(fields=["campaign_pk"], name="replies_rdelta_campaign_idx"),
        ]


def recount(day_sql) -> tuple[str, str]:
    """The exact figures from the replies themselves (what ``repair`` and ``drift`` compare)."""
    return (
        f"SELECT {day_sql('m.received_at')} AS day, COALESCE(o.campaign_id, 0) AS campaign_pk, "  # noqa: S608
        "COALESCE(o.template_id, 0) AS template_pk, COALESCE(r.reply_type_id, 0) AS reply_type_pk, "
        "r.source AS source, r.keyword AS keyword, r.needs_review AS needs_review, 1 AS n "
        "FROM replies_reply r JOIN sms_inboundmessage m ON m.id = r.message_id "
        "LEFT JOIN sms_outboundmessage o ON o.id = m.in_reply_to_id",
        "m.received_at",
    )


rollups.register(
    "replies", count_model=ReplyCount, delta_model=ReplyCountDelta, key=REPLY_KEY, values=("n",), recount=recount
)


def reply_counts(**kwargs) -> dict[tuple, dict[str, int]]:
    """``sms.rollups.counts`` of the replies: {key: {"n": replies}} grouped ``by`` key fields."""
    return rollups.counts("replies", **kwargs)
