"""Follow-ups: a template's follow-up text, once, after its delay, to the recipients whose reply
(if any) allows it, through the same SIM / gateway as the first text where still available.

The reply types come from the replies app, read lazily through two small functions so this app
works before (and without) it:

- ``reply_types_of(inbound_ids)``: the reply-type slug of each inbound text, read from the
  replies app's ``Reply`` model (the one with a OneToOne to ``sms.InboundMessage`` and a FK to
  ``ReplyType``), found by introspection. No such model yet: nothing is known.
- ``followup_allowed_by_type()``: slug -> allowed, from ``ReplyType.allows_followup`` when that
  field exists, else from ``CAMPAIGNS_FOLLOWUP_REPLY_TYPES`` (thanks, misc).

Rules: no reply -> allowed; an opted-out number -> never; a reply of a type that forbids it
("end", "bot") -> never (recorded); a reply not yet classified -> wait and look again next run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns.fanout import _extra_data, capped_numbers
from campaigns.greeting import Greeter
from campaigns.models import TAG_FIRST, TAG_FOLLOWUP, Campaign, Recipient, Template
from campaigns.schedule import next_allowed, zones_and_region
from sms.models import Contact, InboundMessage, OutboundMessage, State
from sms.queueing import build_message, queue_messages

SENT_STATES = (State.SENT, State.DELIVERED, State.DEBUG)
NEVER_LEFT = (State.ERROR, State.ERROR_UPDATE, State.REFUSED, State.UNKNOWN, State.ABORTED)


def _reply_model():
    """The replies app's per-inbound classification model, or None while it does not exist."""
    try:
        config = apps.get_app_config("replies")
    except LookupError:
        return None
    for model in config.get_models():
        links = [
            f
            for f in model._meta.get_fields()
            if getattr(f, "related_model", None) is InboundMessage and (f.one_to_one or f.many_to_one)
        ]
        types = [f for f in model._meta.get_fields() if f.many_to_one and f.name == "reply_type"]
        if links and types and model._meta.model_name != "inboundmessage":
            return model, links[0].name
    return None


def reply_types_of(inbound_ids: list[int]) -> dict[int, str]:
    """inbound id -> reply-type slug, for the texts the replies app has classified (one query)."""
    found = _reply_model()
    if not found or not inbound_ids:
        return {}
    model, link = found
    rows = model.objects.filter(**{f"{link}__in": inbound_ids, "reply_type__isnull": False}).values_list(
        f"{link}_id", "reply_type__slug"
    )
    return dict(rows)


def followup_allowed_by_type() -> dict[str, bool]:
    defaults = {slug: True for slug in settings.CAMPAIGNS_FOLLOWUP_REPLY_TYPES}
    try:
        model = apps.get_model("replies", "ReplyType")
    except LookupError:
        return defaults
    fields = {f.name for f in model._meta.get_fields()}
    if "allows_followup" not in fields:
        return {slug: slug in defaults for slug in model.objects.values_list("slug", flat=True)} | defaults
    return dict(model.objects.values_list("slug", "allows_followup"))


@dataclass
class FollowupSummary:
    queued: int = 0
    skipped: int = 0
    waiting: int = 0

    def __str__(self):
        return f"{self.queued} follow-ups queued, {self.skipped} skipped for good, {self.waiting} waiting"


def decide(*, first_state: str, opted_out: bool, reply_slugs: list[str | None], allowed: dict[str, bool]) -> str:
    """ "send", "send_alt", "wait" or a reason never to send. Pure, so the rule is testable alone."""
    if opted_out:
        return "skip:opted out"
    if first_state in NEVER_LEFT:
        return "skip:first text not sent"
    if first_state not in SENT_STATES:
        return "wait"
    if not reply_slugs:
        return "send"
    for slug in reply_slugs:
        if slug is None:
            return "wait"  # not classified yet
        if not allowed.get(slug, False):
            return f"skip:replied {slug}"
    return "send_alt"


def send_followups(*, now: datetime | None = None, batch_size: int = 500, progress=None) -> FollowupSummary:
    now = now or timezone.now()
    summary = FollowupSummary()
    allowed = followup_allowed_by_type()
    greeter = Greeter()
    # A template whose links cannot be made now waits (its follow-ups go once it can).
    templates = [t for t in Template.objects.filter(is_active=True) if t.has_followup and not t.link_problem()]
    for template in templates:
        candidates = Recipient.objects.filter(
            group__template=template,
            followup_at__isnull=True,
            followup_skipped="",
            created_at__lte=now - template.followup_delay,
            campaign__state__in=[Campaign.State.RUNNING, Campaign.State.COMPLETED, Campaign.State.SCHEDULED],
        ).order_by("pk")
        last_pk = 0
        while True:
            pks = list(candidates.filter(pk__gt=last_pk).values_list("pk", flat=True)[:batch_size])
            if not pks:
                break
            last_pk = pks[-1]
            _followup_batch(template=template, pks=pks, now=now, allowed=allowed, greeter=greeter, summary=summary)
            if progress:
                progress(summary)
    return summary


def _followup_batch(*, template, pks, now, allowed, greeter, summary) -> None:
    with transaction.atomic():
        recipients = Recipient.objects.filter(pk__in=pks, followup_at__isnull=True, followup_skipped="")
        if connection.features.has_select_for_update_skip_locked:
            recipients = recipients.select_for_update(skip_locked=True, of=("self",))
        recipients = list(recipients.select_related("campaign"))
        if not recipients:
            return
        firsts = {
            (m.campaign_id, m.recipient): m
            for m in OutboundMessage.objects.filter(
                campaign_id__in={r.campaign_id for r in recipients},
                tag=TAG_FIRST,
                recipient__in=[r.number for r in recipients],
            ).only("pk", "campaign_id", "recipient", "state", "sent_at", "sim_id", "backend")
        }
        # The delay runs from when the first text left, not from when it was queued.
        replies = defaultdict(list)
        inbound = list(
            InboundMessage.objects.filter(in_reply_to__in=[m.pk for m in firsts.values()]).values_list(
                "pk", "in_reply_to_id"
            )
        )
        slugs = reply_types_of([pk for pk, _ in inbound])
        for pk, first_pk in inbound:
            replies[first_pk].append(slugs.get(pk))
        opted_out = Contact.objects.opted_out_numbers([r.number for r in recipients])
        # A follow-up is a marketing text too: over the cap it waits for a later run.
        capped = capped_numbers([r.number for r in recipients], now=now)

        skipped: dict[str, list[int]] = defaultdict(list)
        to_send: list[tuple[Recipient, OutboundMessage, bool]] = []
        for r in recipients:
            first = firsts.get((r.campaign_id, r.number))
            if first is None:
                skipped["first text not found"].append(r.pk)
                continue
            if first.sent_at and first.state in SENT_STATES and first.sent_at > now - template.followup_delay:
                summary.waiting += 1
                continue
            verdict = decide(
                first_state=first.state,
                opted_out=r.number in opted_out,
                reply_slugs=replies.get(first.pk, []),
                allowed=allowed,
            )
            if verdict in ("send", "send_alt") and r.number in capped:
                verdict = "wait"
            if verdict == "wait":
                summary.waiting += 1
            elif verdict.startswith("skip:"):
                skipped[verdict[5:]].append(r.pk)
            else:
                to_send.append((r, first, verdict == "send_alt"))

        for reason, ids in skipped.items():
            Recipient.objects.filter(pk__in=ids).update(followup_skipped=reason[:200])
            summary.skipped += len(ids)

        messages = []
        for r, first, replied in to_send:
            zones, region = zones_and_region(r.number)
            send_at = next_allowed(now, zones, region)
            body = template.followup_alt_body if replied and template.followup_alt_body.strip() else None
            body = body or template.followup_body
            context = {**r.context, "name": r.name, "greeting": greeter(at=send_at, zone=zones[0], country=region)}
            prefer = {}
            if first.sim_id:
                prefer["prefer_sim"] = first.sim_id
            if first.backend:
                prefer["prefer_backend"] = first.backend
            messages.append(
                build_message(
                    r.number,
                    template.render_marketing(context, body=body),
                    name=r.name,
                    campaign_id=r.campaign_id,
                    template=template,
                    template_slug=template.slug,
                    tag=TAG_FOLLOWUP,
                    sender=template.sender_id,
                    next_attempt_at=send_at,
                    extra_data=_extra_data(template, group=template.name, followup_of=first.pk),
                    extra_sender_data=prefer,
                )
            )
        if messages:
            queue_messages(messages, batch_size=len(messages) + 1)
            Recipient.objects.filter(pk__in=[r.pk for r, _, _ in to_send]).update(followup_at=now)
            summary.queued += len(messages)


__all__ = ["decide", "followup_allowed_by_type", "reply_types_of", "send_followups"]
