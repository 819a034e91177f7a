"""Which way an inbound text goes: the decision alone, no side effects.

Routing order (README, "Routing order"):

1. the standard words as the whole text: opt-out (STOP...), opt-in (START...), HELP;
2. a configured keyword as the prefix of a text to one of our numbers (any text when we have
   no numbers), listening on that number, live (active, within its dates);
3. the catch-all keyword of the number the text was sent to;
4. otherwise nothing here: the replies pipeline links it to a recent campaign text and the
   classifier sorts it.

``decide`` is shared by the pipeline step (``keywords.pipeline.route``) and the page's "test
this keyword" box, which shows the decision and sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from keywords import cache
from keywords.models import Dispatch, Keyword, canonical_number
from keywords.parsing import parse, whole_word

STANDARD = ("stop", "start", "help")


@dataclass
class Decision:
    routed_by: str  # "stop", "start", "help", "keyword:ABC" or "" (left to the replies pipeline)
    keyword: Keyword | None = None
    argument: str = ""
    note: str = ""  # why, in words, for the test box and the logs

    @property
    def kind(self) -> str:
        return self.routed_by.partition(":")[0]


def decide(*, content: str, recipient: str, now=None) -> Decision:
    snap = cache.snapshot()
    word = whole_word(content)
    for kind in STANDARD:
        if word and word in snap.word_sets[kind]:
            return Decision(routed_by=kind, note=f"{word} is a {kind.upper()} word")
    number = None
    if snap.has_numbers:
        number = snap.numbers.get(canonical_number(recipient))
        if number is None:
            return Decision(routed_by="", note=f"{recipient or 'No recipient'} is not one of our numbers")
    now = now or timezone.now()
    parsed = parse(content)
    if parsed is not None:
        keyword = snap.keywords.get(parsed.word)
        if keyword is not None:
            refusal = _refusal(keyword, number, now)
            if not refusal:
                return Decision(
                    routed_by=keyword.routed_by, keyword=keyword, argument=parsed.argument, note=f"Keyword {keyword}"
                )
            if number is None or number.catch_all_id is None:
                return Decision(routed_by="", note=refusal)
    if number is not None and number.catch_all_id:
        keyword = snap.by_id.get(number.catch_all_id)
        if keyword is not None and not _refusal(keyword, None, now):
            return Decision(
                routed_by=keyword.routed_by,
                keyword=keyword,
                argument=(content or "").strip(),
                note=f"No keyword matched: catch-all {keyword} of {number.number}",
            )
    return Decision(routed_by="", note="No keyword matched: left to the replies pipeline")


def _refusal(keyword: Keyword, number, now) -> str:
    if not keyword.is_active:
        return f"Keyword {keyword} is switched off"
    if keyword.active_from and now < keyword.active_from:
        return f"Keyword {keyword} starts on {timezone.localtime(keyword.active_from):%Y-%m-%d %H:%M}"
    if keyword.active_until and now >= keyword.active_until:
        return f"Keyword {keyword} ended on {timezone.localtime(keyword.active_until):%Y-%m-%d %H:%M}"
    if number is not None and keyword.number_ids and number.pk not in keyword.number_ids:
        return f"Keyword {keyword} does not listen on {number.number}"
    return ""


def over_limit(keyword: Keyword, sender: str) -> bool:
    """The contact has used the keyword ``per_contact_limit`` times already (one query)."""
    if not keyword.per_contact_limit:
        return False
    used = Dispatch.objects.filter(keyword=keyword, sender=sender, state=Dispatch.State.DONE).count()
    return used >= keyword.per_contact_limit
