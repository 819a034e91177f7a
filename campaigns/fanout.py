"""Fan-out: turn source rows into queued campaign texts, fast and never twice.

Every row is validated and normalised (``phonenumbers``), deduplicated within the pull and
against the campaign's earlier texts, checked against the opt-out list and the per-contact
frequency cap, rendered (greeting computed for the moment it will leave, in the recipient's
zone) and queued through ``sms.queueing`` in bulk. A batch costs a fixed handful of queries,
whatever its size: nothing is looked up row by row.

The unique key (campaign, number) on ``Recipient`` is what stops a second text: each batch
inserts its recipients with ``ON CONFLICT DO NOTHING`` and reads back only the rows carrying its
own token. A concurrent fan-out of the same rows blocks on the other's uncommitted inserts and
then skips them, so it queues nothing for those numbers.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from campaigns.greeting import Greeter
from campaigns.models import (
    BUILTIN_PLACEHOLDERS,
    PAUSED_UNTIL,
    TAG_FIRST,
    Campaign,
    CampaignGroup,
    PullRun,
    Recipient,
    RejectedRow,
    Template,
)
from campaigns.schedule import next_allowed, zones_and_region
from links.hook import link_hook
from sms.encoding import length_error
from sms.models import Contact, OutboundMessage, State
from sms.phone import InvalidNumber, normalise
from sms.queueing import build_message, queue_messages

Reason = RejectedRow.Reason


@dataclass(slots=True)
class SourceRow:
    """One contact as the source gave it."""

    group: str
    number: str
    name: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(slots=True)
class BadRow:
    """A row that could not even be read (wrong shape); recorded as rejected."""

    group: str
    raw: str
    detail: str


@dataclass
class FanOutResult:
    rows: int = 0
    queued: int = 0
    rejected: Counter = field(default_factory=Counter)
    skipped_groups: dict[str, str] = field(default_factory=dict)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def __str__(self):
        parts = [f"{self.rows} rows: {self.queued} queued, {self.rejected_total} rejected"]
        if self.rejected:
            parts.append(
                "(" + ", ".join(f"{n} {Reason(r).label.lower()}" for r, n in sorted(self.rejected.items())) + ")"
            )
        text = " ".join(parts)
        if self.skipped_groups:
            text += "; skipped groups: " + "; ".join(f"{g}: {why}" for g, why in self.skipped_groups.items())
        return text


def _groups(campaign: Campaign, names: Iterable[str]) -> dict[str, CampaignGroup]:
    names = sorted(set(names))
    templates = {t.name: t for t in Template.objects.filter(name__in=names)}
    existing = {g.name: g for g in CampaignGroup.objects.filter(campaign=campaign, name__in=names)}
    groups = {}
    for name in names:
        group = existing.get(name)
        if group is None:
            group, _ = CampaignGroup.objects.get_or_create(
                campaign=campaign, name=name, defaults={"template": templates.get(name)}
            )
        template = templates.get(name)
        if template is not None and group.template_id != template.pk:
            # The template was created (or renamed) after an earlier pull skipped the group.
            CampaignGroup.objects.filter(pk=group.pk).update(template=template, skipped_reason="", rows_skipped=0)
            group.template = template
        group._template = template
        groups[name] = group
    return groups


def _skip_reason(template: Template | None, name: str) -> str:
    if template is None:
        return f"no template named {name!r}"
    if not template.is_active:
        return f"template {name!r} is not active"
    if "{link}" in template.body and template.link_problem():
        return f"template {name!r} cannot make its links: {template.link_problem()}"
    return ""


def capped_numbers(numbers: list[str], *, now: datetime) -> dict[str, str]:
    """Numbers that already had their quota of marketing texts, with the reason (one query)."""
    per_day, per_week = settings.CAMPAIGNS_MAX_PER_DAY, settings.CAMPAIGNS_MAX_PER_WEEK
    if not (per_day or per_week) or not numbers:
        return {}
    day_ago, week_ago = now - timedelta(days=1), now - timedelta(days=7)
    counts = (
        OutboundMessage.objects.filter(
            recipient__in=numbers, campaign__isnull=False, created_at__gte=week_ago if per_week else day_ago
        )
        .exclude(state__in=(State.REFUSED, State.ABORTED))
        .order_by()
        .values("recipient")
        .annotate(day=Count("pk", filter=Q(created_at__gte=day_ago)), week=Count("pk"))
    )
    capped = {}
    for row in counts:
        if per_day and row["day"] >= per_day:
            capped[row["recipient"]] = f"{row['day']} marketing texts in the last 24 hours (cap {per_day})"
        elif per_week and row["week"] >= per_week:
            capped[row["recipient"]] = f"{row['week']} marketing texts in the last 7 days (cap {per_week})"
    return capped


def fan_out(
    *,
    campaign: Campaign,
    rows: list[SourceRow],
    bad_rows: Iterable[BadRow] = (),
    now: datetime | None = None,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    greeter: Greeter | None = None,
) -> FanOutResult:
    """Validate, deduplicate and queue ``rows`` as the first texts of ``campaign``."""
    now = now or timezone.now()
    batch_size = batch_size or settings.CAMPAIGNS_BATCH_SIZE
    result = FanOutResult(rows=len(rows))
    rejects: list[RejectedRow] = []

    seen: set[tuple[str, str, str]] = set()

    def reject(row, reason, detail="", number=None):
        shown = str(row.number if number is None else number)[:50]
        if (row.group[:200], shown, reason) in seen and reason != Reason.DUPLICATE:
            # The same bad row twice: the second is stored as a duplicate, so the page lists
            # as many rejected rows as the summary counts (one stored row per key).
            reason, detail = Reason.DUPLICATE, "same as an earlier rejected row"
        seen.add((row.group[:200], shown, reason))
        result.rejected[reason] += 1
        rejects.append(
            RejectedRow(
                campaign=campaign,
                group=row.group[:200],
                number=shown,
                name=str(getattr(row, "name", ""))[:200],
                reason=reason,
                detail=detail[:300],
                created_at=now,
            )
        )

    for bad in bad_rows:
        result.rows += 1
        result.rejected[Reason.BAD_ROW] += 1
        rejects.append(
            RejectedRow(
                campaign=campaign,
                group=bad.group[:200],
                number=bad.raw[:50],
                reason=Reason.BAD_ROW,
                detail=bad.detail[:300],
                created_at=now,
            )
        )

    if campaign.state == Campaign.State.ABORTED:
        result.skipped_groups["*"] = "the campaign was aborted"
        RejectedRow.objects.bulk_create(rejects, batch_size=1000, ignore_conflicts=True)
        return result

    groups = _groups(campaign, (r.group for r in rows))
    needs: dict[str, tuple[bool, set[str]]] = {}
    for name, group in groups.items():
        template = group._template
        reason = _skip_reason(template, name)
        if reason:
            result.skipped_groups[name] = reason
            continue
        placeholders = template.placeholders()
        needs[name] = ("name" in placeholders, placeholders - BUILTIN_PLACEHOLDERS)

    # Pass 1, pure Python: shape, number, duplicates within the pull, required fields.
    seen: set[str] = set()
    valid: list[tuple[SourceRow, str]] = []
    skipped_counts: Counter = Counter()
    for row in rows:
        if row.group in result.skipped_groups:
            skipped_counts[row.group] += 1
            continue
        try:
            number = normalise(row.number)
        except InvalidNumber as exc:
            reject(row, Reason.INVALID_NUMBER, str(exc))
            continue
        if number in seen:
            reject(row, Reason.DUPLICATE, "twice in this pull", number)
            continue
        seen.add(number)
        wants_name, wants_fields = needs[row.group]
        if wants_name and not str(row.name or "").strip():
            reject(row, Reason.MISSING_NAME, "the template uses {name}", number)
            continue
        missing = sorted(f for f in wants_fields if row.extra.get(f) in (None, ""))
        if missing:
            reject(row, Reason.MISSING_FIELD, "missing " + ", ".join(missing), number)
            continue
        valid.append((row, number))

    for name, count in skipped_counts.items():
        CampaignGroup.objects.filter(pk=groups[name].pk).update(
            skipped_reason=result.skipped_groups[name][:300], rows_skipped=count
        )

    greeter = greeter or Greeter()
    paused = campaign.state == Campaign.State.PAUSED
    not_before = campaign.not_before(now)
    send_times: dict[tuple, tuple[datetime, str]] = {}
    done = len(rows) - len(valid)
    for start in range(0, len(valid), batch_size):
        chunk = valid[start : start + batch_size]
        queued = _queue_batch(
            campaign=campaign,
            chunk=chunk,
            groups=groups,
            now=now,
            not_before=not_before,
            paused=paused,
            greeter=greeter,
            send_times=send_times,
            reject=reject,
        )
        result.queued += queued
        RejectedRow.objects.bulk_create(rejects, batch_size=1000, ignore_conflicts=True)
        rejects.clear()
        done += len(chunk)
        if progress:
            progress(done, len(rows))
    RejectedRow.objects.bulk_create(rejects, batch_size=1000, ignore_conflicts=True)

    if result.queued:
        state = Campaign.State.SCHEDULED if not_before > now else Campaign.State.RUNNING
        Campaign.objects.filter(
            pk=campaign.pk, state__in=[Campaign.State.COMPLETED, Campaign.State.NOTHING_TO_SEND]
        ).update(state=state, finished_at=None)
    elif (
        not OutboundMessage.objects.filter(campaign=campaign).exists()
        and not campaign.pulls.filter(state__in=[PullRun.State.QUEUED, PullRun.State.RUNNING]).exists()
    ):
        # Every row rejected: nothing will ever go out, so it is not "Running" (its rejected rows
        # stay to be looked at). A later pull into the same campaign opens it again.
        Campaign.objects.filter(
            pk=campaign.pk, state__in=[Campaign.State.RUNNING, Campaign.State.SCHEDULED, Campaign.State.PAUSED]
        ).update(state=Campaign.State.NOTHING_TO_SEND, finished_at=now, paused_reason="")
        campaign.refresh_from_db(fields=["state", "finished_at"])
    return result


def _queue_batch(*, campaign, chunk, groups, now, not_before, paused, greeter, send_times, reject) -> int:
    numbers = [number for _, number in chunk]
    with transaction.atomic():
        already = set(Recipient.objects.filter(campaign=campaign, number__in=numbers).values_list("number", flat=True))
        opted_out = Contact.objects.opted_out_numbers(numbers)
        capped = capped_numbers([n for n in numbers if n not in already and n not in opted_out], now=now)
        candidates = []
        for row, number in chunk:
            if number in already:
                reject(row, Reason.DUPLICATE, "already texted in this campaign", number)
            elif number in opted_out:
                reject(row, Reason.OPTED_OUT, "on the opt-out list", number)
            elif number in capped:
                reject(row, Reason.FREQUENCY_CAP, capped[number], number)
            else:
                candidates.append((row, number))
        if not candidates:
            return 0
        token = uuid.uuid4()
        Recipient.objects.bulk_create(
            [
                Recipient(
                    campaign=campaign,
                    group=groups[row.group],
                    number=number,
                    source_number=str(row.number)[:50],
                    name=str(row.name or "")[:200],
                    context=row.extra,
                    created_at=now,
                    batch=token,
                )
                for row, number in candidates
            ],
            ignore_conflicts=True,
        )
        won = set(
            Recipient.objects.filter(campaign=campaign, number__in=[n for _, n in candidates], batch=token).values_list(
                "number", flat=True
            )
        )
        messages = []
        too_long = []
        for row, number in candidates:
            if number not in won:  # a concurrent fan-out got there first
                reject(row, Reason.DUPLICATE, "queued by a concurrent pull", number)
                continue
            template = groups[row.group]._template
            zones, region = zones_and_region(number)
            key = (zones, region)
            timing = send_times.get(key)
            if timing is None:
                send_at = next_allowed(not_before, zones, region)
                timing = send_times[key] = (send_at, greeter(at=send_at, zone=zones[0], country=region))
            send_at, greeting = timing
            name = str(row.name or "").strip()
            context = {**row.extra, "name": name, "greeting": greeting}
            content = template.render_marketing(context)
            sized = content.replace("{link}", link_hook.sample_url() or "{link}")  # the tracked link's real length
            if error := length_error(sized):  # this row's values make it too long (the template itself fits)
                reject(row, Reason.TOO_LONG, error, number)
                too_long.append(number)
                continue
            messages.append(
                build_message(
                    number,
                    content,
                    name=name,
                    campaign=campaign,
                    template=template,
                    template_slug=template.slug,
                    tag=TAG_FIRST,
                    sender=template.sender_id,
                    next_attempt_at=PAUSED_UNTIL if paused else send_at,
                    extra_data=_extra_data(template, group=row.group),
                )
            )
        if too_long:  # never texted: a corrected file may text them later in this campaign
            Recipient.objects.filter(campaign=campaign, number__in=too_long, batch=token).delete()
        stored = queue_messages(messages, batch_size=len(messages) + 1)
        queued = 0
        for message in stored:
            if message.state == State.REFUSED:  # opted out between our check and the insert
                result_row = SourceRow(group=message.extra_data.get("group", ""), number=message.recipient)
                reject(result_row, Reason.OPTED_OUT, message.error, message.recipient)
            else:
                queued += 1
        return queued


def _extra_data(template: Template, **data) -> dict:
    """A campaign text's extra data: its group, and its link target when the template has one."""
    target = template.link_target()
    return {**data, "link": target} if target else data


def create_campaign(
    *,
    name: str,
    source: str,
    rows: list[SourceRow],
    bad_rows: Iterable[BadRow] = (),
    user=None,
    scheduled_for: datetime | None = None,
    hold_reason: str = "",
) -> tuple[Campaign, FanOutResult]:
    """A campaign made from the dashboard (uploaded file or pasted numbers), fanned out at once.

    With ``hold_reason`` it is created paused (its texts queued but held) for staff to review.
    """
    now = timezone.now()
    state = Campaign.State.SCHEDULED if scheduled_for and scheduled_for > now else Campaign.State.RUNNING
    if hold_reason:
        state = Campaign.State.PAUSED
    campaign = Campaign.objects.create(
        name=name,
        source=source,
        created_by=user,
        scheduled_for=scheduled_for,
        state=state,
        created_at=now,
        paused_reason=hold_reason[:300],
    )
    return campaign, fan_out(campaign=campaign, rows=rows, bad_rows=bad_rows, now=now)
