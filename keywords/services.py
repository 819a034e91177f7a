"""What the pages show: counts per keyword and number, a keyword's health and daily series,
and the "test this keyword" explanation (a dry run: nothing stored, nothing sent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from keywords import actions, routing
from keywords.models import Dispatch, Keyword, Number
from sms.models import InboundMessage


def _since():
    now = timezone.localtime()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return today, today - timedelta(days=6)


def keyword_counts() -> dict[int, dict]:
    """{keyword id: {"today", "week"}} in one query."""
    today, week = _since()
    rows = (
        Dispatch.objects.filter(at__gte=week, keyword__isnull=False)
        .values("keyword")
        .annotate(week=Count("pk"), today=Count("pk", filter=Q(at__gte=today)))
    )
    return {row["keyword"]: row for row in rows}


def number_counts(numbers) -> dict[str, dict]:
    """{number: {"today", "week"}} of texts received on each of our numbers, in one query."""
    today, week = _since()
    rows = (
        InboundMessage.objects.filter(received_at__gte=week, recipient__in=[n.number for n in numbers])
        .values("recipient")
        .annotate(week=Count("pk"), today=Count("pk", filter=Q(received_at__gte=today)))
    )
    return {row["recipient"]: row for row in rows}


def standard_counts() -> dict[str, dict]:
    today, week = _since()
    rows = (
        Dispatch.objects.filter(at__gte=week, keyword__isnull=True)
        .values("routed_by")
        .annotate(week=Count("pk"), today=Count("pk", filter=Q(at__gte=today)))
    )
    return {row["routed_by"]: row for row in rows}


@dataclass
class Health:
    last_success_at: object = None
    last_failure_at: object = None
    last_error: str = ""
    waiting: int = 0  # texts pending a retry of this keyword's handler
    failed: int = 0


def health(keyword: Keyword) -> Health:
    stats = keyword.dispatches.aggregate(
        last_success_at=Max("at", filter=Q(state=Dispatch.State.DONE)),
        failed=Count("pk", filter=Q(state=Dispatch.State.FAILED)),
    )
    result = Health(
        last_success_at=stats["last_success_at"],
        last_failure_at=keyword.last_failure_at,
        last_error=keyword.last_error,
        failed=stats["failed"],
    )
    pending = _pending(keyword)
    if pending is not None:
        result.waiting = pending.count()
        latest = pending.order_by("-received_at").first()
        if latest is not None and (result.last_failure_at is None or latest.received_at > result.last_failure_at):
            result.last_failure_at = latest.received_at
            result.last_error = latest.pipeline_error.partition(": ")[2]
    return result


def _pending(keyword: Keyword):
    """Texts waiting for a retry of this keyword (their routing was rolled back, only the
    pipeline's error names the keyword)."""
    if not hasattr(InboundMessage, "pipeline_error"):
        return None
    return InboundMessage.objects.filter(pipeline_state="pending", pipeline_error__startswith=f"{keyword.routed_by}: ")


def daily(keyword: Keyword, days: int = 14):
    """(dates, {"texts": [...], "failed": [...]}) for the chart."""
    today = timezone.localdate()
    dates = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    rows = keyword.dispatches.filter(at__date__gte=dates[0]).values_list("at", "state")
    texts = dict.fromkeys(dates, 0)
    failed = dict.fromkeys(dates, 0)
    for at, state in rows:
        day = timezone.localdate(at)
        if day in texts:
            texts[day] += 1
            failed[day] += state == Dispatch.State.FAILED
    return dates, {"texts": list(texts.values()), "failed": list(failed.values())}


@dataclass
class Explanation:
    routed_by: str
    lines: list[str] = field(default_factory=list)


def explain(*, text: str, number: str) -> Explanation:
    """What routing ``text`` sent to ``number`` would do, in words. Runs nothing."""
    decision = routing.decide(content=text, recipient=number)
    standard = routing.cache.snapshot().standard
    result = Explanation(routed_by=decision.routed_by, lines=[decision.note])
    if decision.kind == "stop":
        result.lines.append("The sender would be opted out at once; every text queued to them refused.")
        if standard.opt_out_confirmation:
            result.lines.append(f"One confirmation would be sent: {standard.opt_out_confirmation!r}")
    elif decision.kind == "start":
        result.lines.append("An opted-out sender would be opted back in, the text kept as evidence.")
        if standard.opt_in_confirmation:
            result.lines.append(f"Then texted: {standard.opt_in_confirmation!r}")
    elif decision.kind == "help":
        result.lines.append(f"Answer: {standard.help_text!r}" if standard.help_text else "No answer is configured.")
    elif decision.keyword is not None:
        keyword = decision.keyword
        result.lines.append(f"Argument: {decision.argument!r}" if decision.argument else "No argument.")
        if keyword.handler:
            result.lines.append(f"Handler {keyword.handler}(message, {decision.argument!r}) would be called.")
        if keyword.reply_template:
            reply = actions.render_reply(keyword.reply_template, word=keyword.word, argument=decision.argument, name="")
            result.lines.append(f"Reply: {reply!r}")
        if keyword.per_contact_limit:
            result.lines.append(f"At most {keyword.per_contact_limit} per number; later texts are only filed.")
        if keyword.reply_type_slug:
            result.lines.append(f"Filed under reply type {keyword.reply_type_slug!r}.")
    else:
        result.lines.append("It would reach the inbox: linked to a recent campaign text, then classified.")
    return result


def attach_counts(*, numbers: list[Number], keywords: list[Keyword]) -> None:
    """``.counts`` ({"today", "week"}) on each number and keyword: two queries."""
    by_keyword = keyword_counts()
    for keyword in keywords:
        keyword.counts = by_keyword.get(keyword.pk, {})
    by_number = number_counts(numbers) if numbers else {}
    for number in numbers:
        number.counts = by_number.get(number.number, {})
