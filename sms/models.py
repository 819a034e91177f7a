"""Messages and their lifecycle: contacts and consent, outbound texts with a status history,
inbound texts.

``sms`` is the ground floor: it imports no other app of ours. The few relations that point
upward (campaign, template, SIM) name their models by string only.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from sms import signals
from sms.encoding import segment_info
from sms.search import fold


class State(models.TextChoices):
    DEBUG = "debug", "Debug"  # handled by a console/dummy backend; nothing left the building
    WAITING = "waiting", "Waiting"  # queued, due at next_attempt_at (or now)
    SENDING = "sending", "Sending"  # claimed by a dispatcher; the gateway call may be under way
    SENT = "sent", "Sent"  # accepted by the gateway, which gave us its id
    DELIVERED = "delivered", "Delivered"  # the handset got it (delivery report)
    ERROR_RETRY = "error_retry", "Error, will retry"  # temporary failure; retried at next_attempt_at
    ERROR = "error", "Error"  # permanent failure, or out of attempts
    ERROR_UPDATE = "error_update", "Failed after sending"  # gateway reported failure (undelivered)
    UNKNOWN = "unknown", "Unknown"  # a dispatcher died mid-call; never re-sent blindly
    REFUSED = "refused", "Refused"  # opted out or invalid number: never sent, reason in `error`
    ABORTED = "aborted", "Aborted"  # its campaign was aborted before it was sent: never sent, not a failure


DUE_STATES = (State.WAITING, State.ERROR_RETRY)
PENDING_STATES = (State.WAITING, State.ERROR_RETRY, State.SENDING)
FINAL_STATES = (
    State.DEBUG,
    State.DELIVERED,
    State.ERROR,
    State.ERROR_UPDATE,
    State.REFUSED,
    State.UNKNOWN,
    State.ABORTED,
)
# Texts whose `error` may say what went wrong (a route's "last error").
FAILING = Q(state__in=[State.ERROR, State.ERROR_UPDATE, State.ERROR_RETRY, State.UNKNOWN])
# The states a message has "left" in (campaign completion counts these).
LEFT_STATES = (State.SENT, *FINAL_STATES)
# The states of a text that actually went out to a gateway ("gone out", "Sent" columns).
GONE_OUT_STATES = (State.DEBUG, State.SENT, State.DELIVERED, State.ERROR_UPDATE, State.UNKNOWN)


class Encoding(models.TextChoices):
    GSM7 = "gsm7", "GSM-7"
    UCS2 = "ucs2", "UCS-2"


class ContactQuerySet(models.QuerySet):
    def opted_out(self):
        return self.filter(opted_out_at__isnull=False)

    def opted_out_numbers(self, numbers, now=None) -> set[str]:
        """The subset of ``numbers`` that must never be sent anything (one query).

        A staff opt-out whose grace period is over counts already, even before the periodic
        step (``send_queued``) has recorded it, so every check agrees once it is due.
        """
        due = PendingOptOut.objects.due(now).values("number")
        rows = self.filter(number__in=list(numbers)).filter(Q(opted_out_at__isnull=False) | Q(number__in=due))
        return set(rows.values_list("number", flat=True))


class Contact(models.Model):
    """A person we text, keyed by E.164 number. The opt-out check is organisation-wide."""

    number = models.CharField(max_length=20, unique=True, help_text="E.164, e.g. +447450000000")
    name = models.CharField(max_length=200, blank=True)
    # The name folded for search (sms.search.fold): kept in step by save() and bulk inserts.
    search_name = models.CharField(max_length=200, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    opted_out_at = models.DateTimeField(null=True, blank=True, db_index=True)
    opt_out_reason = models.CharField(max_length=300, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["number"]

    def __str__(self):
        return f"{self.name} ({self.number})" if self.name else self.number

    def save(self, *args, **kwargs):
        self.search_name = fold(self.name)[:200]
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("sms:contact", args=[self.pk])

    @property
    def is_opted_out(self) -> bool:
        return self.opted_out_at is not None

    def opt_out(self, *, reason: str, source: str, evidence: str = "", recorded_by=None, message=None) -> bool:
        """Suppress this number everywhere at once. Returns False if it already was.

        Queued texts to the number are refused in the same transaction, so no dispatcher that
        has not yet claimed them can send them. The one exception is the confirmation of an
        earlier opt-out (``confirms_opt_out``), which a repeated STOP must not swallow.
        """
        with transaction.atomic():
            updated = Contact.objects.filter(pk=self.pk, opted_out_at__isnull=True).update(
                opted_out_at=timezone.now(), opt_out_reason=reason[:300]
            )
            ConsentEvent.objects.create(
                contact=self,
                number=self.number,
                kind=ConsentEvent.Kind.OPT_OUT,
                source=source,
                evidence=evidence or reason,
                recorded_by=recorded_by,
                message=message,
            )
            OutboundMessage.objects.filter(
                recipient=self.number, state__in=DUE_STATES, confirms_opt_out__isnull=True
            ).refuse(f"Recipient opted out: {reason}")
        self.refresh_from_db(fields=["opted_out_at", "opt_out_reason"])
        return bool(updated)

    def opt_in(self, *, source: str, evidence: str, scope: str = "marketing", recorded_by=None) -> None:
        """Record fresh consent (a START text, or staff with evidence) and lift the opt-out."""
        with transaction.atomic():
            Contact.objects.filter(pk=self.pk).update(opted_out_at=None, opt_out_reason="")
            ConsentEvent.objects.create(
                contact=self,
                number=self.number,
                kind=ConsentEvent.Kind.OPT_IN,
                source=source,
                evidence=evidence,
                scope=scope,
                recorded_by=recorded_by,
            )
        self.refresh_from_db(fields=["opted_out_at", "opt_out_reason"])

    def erase(self) -> None:
        """Erase personal data (right to erasure) but keep the consent ledger and the opt-out."""
        self.name = ""
        self.erased_at = timezone.now()
        self.save(update_fields=["name", "erased_at"])


class ConsentEvent(models.Model):
    """Append-only consent ledger: what the person agreed to (or withdrew), when, and how."""

    class Kind(models.TextChoices):
        OPT_IN = "opt_in", "Opt-in (consent given)"
        OPT_OUT = "opt_out", "Opt-out (consent withdrawn)"
        # Staff found that an opt-out made by the classifier was not one ("ok thx" read as
        # End): it names the event it corrects, and the consent before that event returns.
        CORRECTION = "correction", "Correction (not an opt-out)"

    # SET_NULL + a copy of the number: the ledger outlives the contact's other data.
    contact = models.ForeignKey(Contact, null=True, on_delete=models.SET_NULL, related_name="consent_events")
    number = models.CharField(max_length=20, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    scope = models.CharField(max_length=50, default="marketing")
    source = models.CharField(max_length=50, help_text="keyword, staff, web form, phone, gateway, import...")
    evidence = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(default=timezone.now)
    message = models.ForeignKey(
        "InboundMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consent_events",
        help_text="The incoming text this event was read from, if any",
    )
    corrects = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="correction", help_text="For corrections"
    )

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.number} {self.kind} ({self.source})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("The consent ledger is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("The consent ledger is append-only")


class OutboundQuerySet(models.QuerySet):
    def due(self, now=None):
        now = now or timezone.now()
        held = PendingOptOut.objects.active().values("number")  # staff opt-out within its grace period
        return (
            self.filter(state__in=DUE_STATES)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .exclude(recipient__in=held)
        )

    def in_claim_order(self):
        """One-to-one and transactional texts (no campaign) before campaign texts, then oldest
        first: a text from Compose never waits behind a 20,000-row campaign."""
        return self.order_by(models.F("campaign_id").asc(nulls_first=True), "pk")

    def stuck(self, timeout: timedelta, now=None):
        now = now or timezone.now()
        return self.filter(state=State.SENDING, claimed_at__lt=now - timeout)

    def refuse(self, reason: str) -> int:
        """Refuse every row of this queryset that has not been claimed yet (one UPDATE)."""
        return self._close_unclaimed(State.REFUSED, reason)

    def abort(self, reason: str) -> int:
        """Mark every unclaimed row ABORTED (their campaign was stopped): never sent, not failed."""
        return self._close_unclaimed(State.ABORTED, reason)

    def _close_unclaimed(self, state: str, reason: str) -> int:
        pks = list(self.filter(state__in=DUE_STATES).values_list("pk", flat=True))
        if not pks:
            return 0
        now = timezone.now()
        count = OutboundMessage.objects.filter(pk__in=pks, state__in=DUE_STATES).update(
            state=state, error=reason[:500], changed_at=now
        )
        StatusChange.objects.bulk_create(
            [StatusChange(message_id=pk, state=state, at=now, note=reason[:500]) for pk in pks]
        )
        return count


class OutboundMessage(models.Model):
    """One outbound text (pymess's OutputSMSMessage plus routing, segments and history)."""

    reference = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, help_text="Our own id, given to gateways as client reference"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    changed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    recipient = models.CharField(max_length=20, db_index=True)
    sender = models.CharField(max_length=20, blank=True)
    content = models.TextField()
    template_slug = models.SlugField(max_length=100, blank=True)
    template = models.ForeignKey(
        "campaigns.Template", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.WAITING, db_index=True)
    backend = models.CharField(max_length=50, blank=True)
    error = models.TextField(blank=True)
    extra_data = models.JSONField(default=dict, blank=True)
    extra_sender_data = models.JSONField(default=dict, blank=True)
    tag = models.SlugField(max_length=100, blank=True, db_index=True)
    number_of_send_attempts = models.PositiveSmallIntegerField(default=0)
    retry = models.BooleanField(default=True, help_text="Retry temporary failures")
    external_id = models.CharField(max_length=100, blank=True, db_index=True, help_text="The gateway's message id")
    encoding = models.CharField(max_length=4, choices=Encoding.choices, default=Encoding.GSM7)
    segments = models.PositiveSmallIntegerField(default=1)
    sim = models.ForeignKey(
        "modems.SimCard", null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound_messages"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound")
    # The single text allowed to an opted-out number: the confirmation of that opt-out. One per
    # opt-out event (unique), checked again when queued and when dispatched.
    confirms_opt_out = models.OneToOneField(
        ConsentEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="confirmation"
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, db_index=True)
    # Committed just before this attempt's gateway request starts (cleared when claimed): a
    # text stuck in SENDING without it provably never left, and goes back to the queue.
    request_started_at = models.DateTimeField(null=True, blank=True)

    objects = OutboundQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="sms_out_due_idx"),
            # The last text to a number (every inbound text's link, conversations, opt-outs):
            # one index probe at a million rows, read backwards for "newest first".
            models.Index(fields=["recipient", "created_at", "id"], name="sms_out_recipient_recent"),
            # A SIM's latest texts (its page) and a SIM's texts of a day (the Stats page's cells).
            models.Index(fields=["sim", "created_at"], name="sms_out_sim_recent"),
            models.Index(  # a route's last error: the failing texts only (a few %), newest first
                fields=["sim", "changed_at"], name="sms_out_sim_last_error", condition=FAILING & ~Q(error="")
            ),
        ]
        verbose_name = "outbound message"

    def __str__(self):
        return f"To {self.recipient}: {self.content[:40]}"

    def get_absolute_url(self):
        return reverse("sms:outbound_detail", args=[self.pk])

    def compute_segments(self) -> None:
        info = segment_info(self.content)
        self.encoding = info.encoding
        self.segments = info.segments

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def set_state(self, state: str, *, note: str = "", at=None, save_fields=(), **fields) -> bool:
        """Move to ``state`` unless it is already there; record the change and fire the signal.

        Returns True if the state changed. Extra ``fields`` are saved in the same UPDATE.

        The UPDATE is conditional on the state this instance was read in, so a transition
        happens once: twenty copies of one delivery report racing each other (each process
        having read SENT) write one DELIVERED history row and fire ``status_changed`` once;
        the losers re-read the row and return False.
        """
        at = at or timezone.now()
        previous = self.state
        for name, value in fields.items():
            setattr(self, name, value)
        if previous == state and not fields:
            return False
        update = {"state", "changed_at", *fields.keys(), *save_fields}
        values = {name: getattr(self, name) for name in update if name not in ("state", "changed_at")}
        with transaction.atomic():
            won = OutboundMessage.objects.filter(pk=self.pk, state=previous).update(
                state=state, changed_at=at, **values
            )
            if won and previous != state:
                StatusChange.objects.create(message=self, state=state, at=at, note=note[:500])
        if not won:
            # Someone else moved the row first: show their outcome, change nothing.
            self.refresh_from_db()
            return False
        self.state = state
        self.changed_at = at
        if previous != state:
            signals.status_changed.send(sender=OutboundMessage, message=self, previous=previous, state=state)
            return True
        return False

    # A delivery report can only be about a text that reached a gateway (or may have: SENDING
    # when the report beats our own record of the send, UNKNOWN after a crash). A refused,
    # queued or failed-at-submission text was never sent: a report naming it changes nothing.
    REPORTABLE_STATES = (State.SENDING, State.SENT, State.UNKNOWN)

    def mark_delivered(self, *, at=None, note: str = "") -> bool:
        if self.state not in self.REPORTABLE_STATES:
            return False
        return self.set_state(State.DELIVERED, note=note, at=at, delivered_at=at or timezone.now())

    def mark_failed_after_send(self, *, error: str) -> bool:
        if self.state not in self.REPORTABLE_STATES:
            return False
        return self.set_state(State.ERROR_UPDATE, note=error, error=error[:1000])


class StatusChange(models.Model):
    """Every state a message went through, with its time."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="status_changes")
    state = models.CharField(max_length=20, choices=State.choices)
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=500, blank=True)
    #: The staff member who made this change by hand (a deliberate re-send); empty for the system.
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.message_id} → {self.state} at {self.at:%Y-%m-%d %H:%M:%S}"


class RelatedObject(models.Model):
    """An object of another app that a message is about (pymess's related objects)."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="related_objects")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.TextField()
    object_id_int = models.BigIntegerField(null=True, blank=True, db_index=True)
    content_object = GenericForeignKey("content_type", "object_id")

    def __str__(self):
        return f"{self.content_type.model} #{self.object_id}"


class PipelineState(models.TextChoices):
    PENDING = "pending", "Pending"  # an inline step asked to be run again later (or not run yet)
    QUEUED = "queued", "Queued"  # inline steps done; the deferred steps still to run
    DONE = "done", "Done"  # every step ran


class InboundMessage(models.Model):
    """One text received from a gateway webhook or read from a modem."""

    sender = models.CharField(max_length=20, db_index=True)
    recipient = models.CharField(max_length=20, blank=True, help_text="Our number it was sent to")
    content = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    backend = models.CharField(max_length=50)
    external_id = models.CharField(max_length=100, help_text="The gateway's id of this text")
    raw = models.JSONField(default=dict, blank=True)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound")
    in_reply_to = models.ForeignKey(
        OutboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    sim = models.ForeignKey(
        "modems.SimCard", null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    pipeline_state = models.CharField(
        max_length=10, choices=PipelineState.choices, default=PipelineState.DONE, editable=False
    )
    #: Times the inline steps were run to an end (a step asking to be run again counts one).
    pipeline_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    pipeline_error = models.CharField(max_length=500, blank=True, editable=False)
    pipeline_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    #: Which pipeline step took the text ("stop", "start", "help", "keyword:ABC"); blank: none.
    routed_by = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["backend", "external_id"], name="sms_inbound_once")]
        indexes = [
            # recover_inbound looks only at the few texts not yet through the pipeline.
            models.Index(
                fields=["pipeline_state", "pipeline_changed_at"],
                name="sms_inbound_unfinished",
                condition=~models.Q(pipeline_state="done"),
            )
        ]
        verbose_name = "inbound message"

    def __str__(self):
        return f"From {self.sender}: {self.content[:40]}"

    def get_absolute_url(self):
        return reverse("sms:inbound_detail", args=[self.pk])


class _SafeFormat(dict):
    def __missing__(self, key):
        raise KeyError(key)


class AbstractSMSTemplate(models.Model):
    """Base for the templates ``sms.api.send_template`` renders (pymess's AbstractSMSTemplate).

    ``body`` uses ``{placeholder}`` fields. Override ``can_send`` (or subclass) to refuse
    sending in some cases.
    """

    slug = models.SlugField(max_length=100, unique=True)
    body = models.TextField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def can_send(self, recipient: str, context_data: dict) -> bool:
        return self.is_active

    def placeholders(self) -> set[str]:
        import string

        return {field for _, field, _, _ in string.Formatter().parse(self.body) if field}

    def link_target(self) -> dict | None:
        """Where ``{link}`` in this template takes the recipient (``{"url": ...}`` or
        ``{"view": "dotted.path"}``), or None. Override in the template model."""
        return None

    def render(self, context_data: dict) -> str:
        """``body`` filled with ``context_data``; ``{link}`` stays for the queue to fill in."""
        values = {"link": "{link}", **{k: ("" if v is None else v) for k, v in context_data.items()}}
        return self.body.format_map(_SafeFormat(values))


class RateBucket(models.Model):
    """Shared state of one route's messages-per-second limit (``sms.ratelimit``), used when no
    Redis cache is configured: the time at which the route's next slot opens."""

    key = models.CharField(max_length=100, unique=True)
    #: Unix time (seconds) at which the next message (segment) may start.
    next_free_at = models.FloatField(default=0.0)

    def __str__(self):
        return f"{self.key}: next at {self.next_free_at:.3f}"


class GatewayInboundPart(models.Model):
    """One part of a long text a gateway delivers in pieces (Vonage's concat-ref/part/total),
    kept until all its parts are here (``sms.backends.parts``). The whole text's id derives
    from its first part's, so it is stored once however often the last part comes; parts of a
    stored text are marked ``assembled`` and kept a while, so a part delivered again (same
    part id) is recognised."""

    backend = models.CharField(max_length=50)
    sender = models.CharField(max_length=20)
    recipient = models.CharField(max_length=20, blank=True)
    concat_ref = models.CharField(max_length=50)
    total = models.PositiveSmallIntegerField()
    seq = models.PositiveSmallIntegerField()
    content = models.TextField(blank=True)
    external_id = models.CharField(max_length=100, help_text="The gateway's id of this part")
    received_at = models.DateTimeField(default=timezone.now)
    first_seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    raw = models.JSONField(default=dict, blank=True)
    assembled = models.BooleanField(default=False)

    class Meta:
        ordering = ["backend", "sender", "concat_ref", "seq"]
        constraints = [models.UniqueConstraint(fields=["backend", "external_id"], name="sms_gateway_part_once")]
        indexes = [models.Index(fields=["backend", "sender", "concat_ref"], name="sms_gateway_part_group")]

    def __str__(self):
        return f"{self.backend} {self.sender} ref {self.concat_ref}: {self.seq}/{self.total}"


# The roll-up tables live in their own module; importing them here registers them with the app.
# At the end: the pending opt-out model's module reads Contact from this one.
from sms.pending import PendingOptOut  # noqa: E402  (a model of this app: Django must see it)
from sms.rollups import InboundCount, InboundCountDelta, OutboundCount, OutboundCountDelta  # noqa: E402, F401
