"""Campaigns: templates (campaign texts), campaigns and their focus groups, the recipients each
campaign has texted (the unique key that stops a second text), rejected rows, pull runs, the
notification outbox towards the data source, and the greeting rules.

Workflows live in named modules: ``campaigns/pull.py`` (fetch + lock), ``campaigns/fanout.py``
(validate + queue), ``campaigns/followups.py``, ``campaigns/notify.py``, ``campaigns/greeting.py``,
``campaigns/schedule.py`` (quiet hours), ``campaigns/routing.py`` (the router hand-over).
"""

from __future__ import annotations

import string
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from links.hook import link_hook
from sms.encoding import length_error
from sms.models import DUE_STATES, AbstractSMSTemplate, OutboundMessage

#: ``next_attempt_at`` of the queued texts of a paused campaign: the dispatcher never finds
#: them due; ``resume`` brings them back. Far in the future but well inside every date type.
PAUSED_UNTIL = datetime(9000, 1, 1, tzinfo=UTC)

#: Placeholders every template may use; others must be declared in ``extra_fields``.
#: ``{link}`` becomes each recipient's own tracked link to ``Template.link_url`` (links app).
BUILTIN_PLACEHOLDERS = frozenset({"name", "greeting", "link"})

#: OutboundMessage.tag of a campaign's first texts and of its follow-ups.
TAG_FIRST = "campaign"
TAG_FOLLOWUP = "followup"


def template_placeholders(text: str) -> set[str]:
    """Field names used by ``text``; raises ValidationError on a malformed brace."""
    try:
        fields = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError as exc:
        raise ValidationError(f"Malformed placeholder: {exc}. Write {{{{ and }}}} for literal braces.") from None
    if "" in fields:
        raise ValidationError("Empty placeholder {}: name the field, e.g. {name}.")
    bad = {f for f in fields if not f.isidentifier()}
    if bad:
        raise ValidationError(f"Placeholders must be plain names: {', '.join(sorted(bad))}")
    return fields


class Template(AbstractSMSTemplate):
    """A campaign text; its name is the focus group it serves. Also an sms.api template."""

    name = models.CharField(max_length=200, unique=True, help_text="The focus group this text serves")
    followup_body = models.TextField(blank=True, help_text="Sent after the delay to recipients who may get one")
    followup_alt_body = models.TextField(
        blank=True,
        help_text="Alternative follow-up for recipients who replied (with a reply type that allows a follow-up). "
        "Empty: they get the follow-up body.",
    )
    followup_delay = models.DurationField(default=timedelta(days=2))
    extra_fields = models.CharField(
        max_length=500,
        blank=True,
        help_text="Comma-separated extra placeholders the data source carries (e.g. city, offer)",
    )
    sender = models.CharField(
        max_length=20, blank=True, help_text="Sender id shown to recipients (empty: the site's campaign sender)"
    )
    add_opt_out_footer = models.BooleanField(default=True, help_text="Append the opt-out footer to every text")
    opt_out_footer = models.CharField(
        max_length=100, blank=True, help_text="Empty: the site's default footer (Reply STOP to opt out)"
    )
    link_url = models.URLField(
        max_length=1000,
        blank=True,
        verbose_name="link target",
        help_text="Where {link} takes each recipient (their own short link, clicks counted)",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("campaigns:template_edit", args=[self.pk])

    # --- placeholders ------------------------------------------------------------------

    def allowed_placeholders(self) -> set[str]:
        return set(BUILTIN_PLACEHOLDERS) | {f.strip() for f in self.extra_fields.split(",") if f.strip()}

    def placeholders(self) -> set[str]:
        found: set[str] = set()
        for text in (self.body, self.followup_body, self.followup_alt_body):
            found |= template_placeholders(text)
        return found

    def clean(self):
        errors = {}
        allowed = self.allowed_placeholders()
        for field in ("body", "followup_body", "followup_alt_body"):
            try:
                unknown = template_placeholders(getattr(self, field)) - allowed
            except ValidationError as exc:
                errors[field] = exc.messages
                continue
            if unknown:
                errors[field] = [
                    f"Unknown placeholder {', '.join('{' + u + '}' for u in sorted(unknown))}: "
                    f"use {', '.join('{' + a + '}' for a in sorted(allowed))} or declare it in extra fields."
                ]
        for field in ("body", "followup_body", "followup_alt_body"):
            if field in errors or not getattr(self, field):
                continue
            error = length_error(self.sample_text(getattr(self, field)))
            if error:
                errors[field] = [f"{error} That counts the footer and a sample contact."]
        bad_extra = [f for f in self.extra_fields.split(",") if f.strip() and not f.strip().isidentifier()]
        if bad_extra:
            errors["extra_fields"] = ["Extra fields must be plain names separated by commas."]
        link_problem = self.link_problem()
        if link_problem:
            errors.setdefault("link_url", []).append(link_problem)
        if errors:
            raise ValidationError(errors)

    def sample_text(self, body: str) -> str:
        """``body`` as a campaign text to a sample contact (footer included), for length checks."""
        sample = {field: f"<{field}>" for field in self.allowed_placeholders()}
        sample.update(name="Monica", greeting="Good afternoon")
        # {link} at its real length: the tracked link each recipient gets instead.
        return self.render_marketing(sample, body=body, link=link_hook.sample_url() or "{link}")

    # --- sending -------------------------------------------------------------------------

    def uses_link(self) -> bool:
        return any("{link}" in text for text in (self.body, self.followup_body, self.followup_alt_body))

    def link_target(self) -> dict | None:
        return {"url": self.link_url} if self.link_url else None

    def link_problem(self) -> str:
        """Why this template's ``{link}`` cannot be sent now ("" if it can, or is not used)."""
        if not self.uses_link():
            return ""
        if not self.link_url:
            return "The text uses {link}: give the link target (where the link takes each recipient)."
        return link_hook.problem(self.link_target())

    def can_send(self, recipient: str, context_data: dict) -> bool:
        hook = getattr(settings, "CAMPAIGNS_TEMPLATE_CAN_SEND", "")
        if hook:
            return bool(import_string(hook)(self, recipient, context_data))
        return self.is_active

    def render(self, context_data: dict) -> str:
        """sms.api.send_template's rendering: ``{greeting}`` is filled in when not given."""
        if "greeting" not in context_data and "greeting" in template_placeholders(self.body):
            from campaigns.greeting import greeting_for

            context_data = {**context_data, "greeting": greeting_for(at=timezone.now(), zone=settings.TIME_ZONE)}
        return super().render(context_data)

    @property
    def footer(self) -> str:
        if not self.add_opt_out_footer:
            return ""
        return self.opt_out_footer.strip() or settings.CAMPAIGNS_OPT_OUT_FOOTER

    @property
    def sender_id(self) -> str:
        return self.sender or settings.CAMPAIGNS_SENDER_ID or settings.SMS_DEFAULT_SENDER

    def render_marketing(self, context: dict, *, body: str | None = None, link: str = "{link}") -> str:
        """The text a campaign sends: body (or a follow-up body) with the opt-out footer.

        ``{link}`` stays as it is (even if the source has a "link" column): the queue swaps it
        for each recipient's own tracked link. The preview passes a stand-in ``link``.
        """
        source = self.body if body is None else body
        text = source.format_map({**{k: ("" if v is None else v) for k, v in context.items()}, "link": link})
        footer = self.footer
        if footer and footer.lower() not in text.lower():
            text = f"{text.rstrip()}\n{footer}"
        return text

    @property
    def followup_delay_text(self) -> str:
        """The delay as staff would say it: "2 days", "1 day 6 hours", "90 minutes"."""
        minutes = int(self.followup_delay.total_seconds() // 60)
        days, minutes = divmod(minutes, 1440)
        hours, minutes = divmod(minutes, 60)
        parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
        text = " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n)
        return text or "no delay"

    @property
    def has_followup(self) -> bool:
        return bool(self.followup_body.strip())


class CampaignQuerySet(models.QuerySet):
    """``with_counts()`` works like ``prefetch_related``: once the (sliced, paginated) rows are
    fetched, their counts come from the roll-ups in two grouped queries for all of them."""

    _with_counts = False

    def with_counts(self):
        """Give each campaign total/n_sent/n_delivered/n_failed/n_pending (first texts) and
        n_replied, read from the roll-ups (``sms.rollups``) when the rows are fetched: the same
        cost at a million texts as at ten (a join over every text took 149 ms at 500k)."""
        clone = self.order_by("-created_at", "-pk")
        clone._with_counts = True
        return clone

    def _clone(self):
        clone = super()._clone()
        clone._with_counts = self._with_counts
        return clone

    def _fetch_all(self):
        fetched = self._result_cache is None
        super()._fetch_all()
        if fetched and self._with_counts:
            from campaigns.counts import attach_counts

            attach_counts([row for row in self._result_cache if isinstance(row, Campaign)])


class Campaign(models.Model):
    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"  # queued; its texts wait for the start time
        RUNNING = "running", "Running"  # texts are going out
        PAUSED = "paused", "Paused"  # held by staff or by the error-rate guard; see paused_reason
        COMPLETED = "completed", "Completed"  # every text has left (sent, delivered or failed)
        ABORTED = "aborted", "Aborted"  # stopped for good: texts not yet sent were marked aborted
        NOTHING_TO_SEND = "empty", "Nothing to send"  # every row was rejected: see the rejected rows

    class Source(models.TextChoices):
        PULL = "pull", "Data source pull"  # pull_campaign / the "pull now" button
        UPLOAD = "upload", "Uploaded file"  # CSV or JSON uploaded from the dashboard
        MANUAL = "manual", "Pasted numbers"  # made by hand from a template and a list

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    key = models.CharField(
        max_length=100,
        unique=True,
        null=True,
        blank=True,
        help_text="Pulls of one period share a campaign (pull:2026-11-23), so a re-run texts nobody twice",
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    source_url = models.URLField(blank=True, help_text="Where outcomes are POSTed when a group has left")
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING, db_index=True)
    scheduled_for = models.DateTimeField(null=True, blank=True, help_text="Nothing leaves before this time")
    paused_reason = models.CharField(max_length=300, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("campaigns:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in (self.State.SCHEDULED, self.State.RUNNING, self.State.PAUSED)

    def not_before(self, now: datetime) -> datetime:
        return max(now, self.scheduled_for) if self.scheduled_for else now

    def pause(self, *, reason: str) -> bool:
        """Hold every text not yet claimed. Returns False if the campaign was not running."""
        with transaction.atomic():
            won = Campaign.objects.filter(pk=self.pk, state__in=[self.State.RUNNING, self.State.SCHEDULED]).update(
                state=self.State.PAUSED, paused_reason=reason[:300]
            )
            if won:
                OutboundMessage.objects.filter(campaign=self, state__in=DUE_STATES).update(next_attempt_at=PAUSED_UNTIL)
        self.refresh_from_db(fields=["state", "paused_reason"])
        return bool(won)

    def resume(self) -> bool:
        now = timezone.now()
        state = self.State.SCHEDULED if self.scheduled_for and self.scheduled_for > now else self.State.RUNNING
        with transaction.atomic():
            won = Campaign.objects.filter(pk=self.pk, state=self.State.PAUSED).update(state=state, paused_reason="")
            if won:
                # Quiet hours are applied again by the router when each text is claimed.
                OutboundMessage.objects.filter(
                    campaign=self, state__in=DUE_STATES, next_attempt_at=PAUSED_UNTIL
                ).update(next_attempt_at=self.not_before(now))
        self.refresh_from_db(fields=["state", "paused_reason"])
        return bool(won)

    def abort(self, *, reason: str = "Campaign aborted") -> int:
        """Stop for good: every text not yet claimed becomes ABORTED (never sent, not a failure).
        Returns how many."""
        with transaction.atomic():
            Campaign.objects.filter(pk=self.pk).exclude(state=self.State.COMPLETED).update(
                state=self.State.ABORTED, paused_reason=reason[:300], finished_at=timezone.now()
            )
            aborted = OutboundMessage.objects.filter(campaign=self, state__in=DUE_STATES).abort(reason)
            Recipient.objects.filter(campaign=self, followup_at__isnull=True, followup_skipped="").update(
                followup_skipped="campaign aborted"
            )
        self.refresh_from_db(fields=["state", "paused_reason", "finished_at"])
        return aborted


class CampaignGroup(models.Model):
    """One focus group of a campaign, served by the template of the same name."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=200)
    template = models.ForeignKey(Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="groups")
    skipped_reason = models.CharField(max_length=300, blank=True, help_text="Why the group's rows were not queued")
    rows_skipped = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["campaign", "name"], name="campaigns_group_once")]

    def __str__(self):
        return f"{self.campaign} / {self.name}"


class Recipient(models.Model):
    """A number a campaign has queued a text for. The unique key (campaign, number) is what makes
    a second pull, or two pulls at once, text nobody twice: the fan-out inserts these rows first
    (ignoring conflicts) and only queues texts for the rows it inserted itself.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    group = models.ForeignKey(CampaignGroup, on_delete=models.CASCADE, related_name="recipients")
    number = models.CharField(max_length=20, help_text="E.164")
    source_number = models.CharField(max_length=50, blank=True, help_text="The number as the source wrote it")
    name = models.CharField(max_length=200, blank=True)
    context = models.JSONField(default=dict, blank=True, help_text="Extra fields from the source, for follow-ups")
    created_at = models.DateTimeField(default=timezone.now)
    #: The fan-out batch that inserted the row: rows carrying our token are the ones we won.
    batch = models.UUIDField(null=True, blank=True)
    followup_at = models.DateTimeField(null=True, blank=True, help_text="When the follow-up was queued")
    followup_skipped = models.CharField(max_length=200, blank=True, help_text="Why no follow-up will be sent")
    notification = models.ForeignKey(
        "Notification", null=True, blank=True, on_delete=models.SET_NULL, related_name="recipients"
    )

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["campaign", "number"], name="campaigns_recipient_once")]
        indexes = [
            models.Index(fields=["followup_at", "followup_skipped", "created_at"], name="campaigns_rcpt_followup_idx")
        ]

    def __str__(self):
        return f"{self.number} in {self.campaign_id}"


class RejectedRow(models.Model):
    class Reason(models.TextChoices):
        INVALID_NUMBER = "invalid_number", "Invalid number"  # phonenumbers could not make a valid E.164 of it
        OPTED_OUT = "opted_out", "Opted out"  # the number is on the organisation-wide opt-out list
        DUPLICATE = "duplicate", "Duplicate"  # twice in this pull, or already texted in this campaign
        MISSING_NAME = "missing_name", "Missing name"  # the template says {name} and the row has none
        MISSING_FIELD = "missing_field", "Missing field"  # an extra placeholder's field is absent
        FREQUENCY_CAP = "frequency_cap", "Frequency cap"  # the contact had its quota of marketing texts
        BAD_ROW = "bad_row", "Malformed row"  # neither [number, name] nor an object with a number
        TOO_LONG = "too_long", "Too long"  # its text, with this row's values, passes the 1,600-character limit

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="rejected_rows")
    group = models.CharField(max_length=200, blank=True)
    number = models.CharField(max_length=50, blank=True)
    name = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        # A re-pull of the same data records each rejection once.
        constraints = [
            models.UniqueConstraint(fields=["campaign", "group", "number", "reason"], name="campaigns_reject_once")
        ]

    def __str__(self):
        return f"{self.number}: {self.get_reason_display()}"


class PullRun(models.Model):
    """One run of pull_campaign (cron or the "pull now" button); the page polls its progress.

    At most one run is RUNNING at a time (a partial unique constraint on ``lock``): a second
    run started meanwhile stops at once instead of racing the first.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"  # asked for from the page; the worker has not started
        RUNNING = "running", "Running"  # holds the pull lock
        SUCCEEDED = "succeeded", "Succeeded"  # fetched and fanned out (some groups may be skipped)
        FAILED = "failed", "Failed"  # the source could not be read (see error); nothing queued
        LOCKED = "locked", "Skipped: another pull was running"  # never took the lock

    lock = models.CharField(max_length=20, default="pull", editable=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    trigger = models.CharField(max_length=20, default="cron", help_text="cron, button, ...")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="pulls")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    summary = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["lock"], condition=Q(state="running"), name="campaigns_one_pull_at_a_time")
        ]

    def __str__(self):
        return f"Pull #{self.pk} ({self.state})"

    def get_absolute_url(self):
        return reverse("campaigns:pull_detail", args=[self.pk])

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else (100 if self.finished_at else 0)


class Notification(models.Model):
    """Outbox row: the POST telling the data source how a group's texts went.

    Created in the same transaction that marks the recipients as notified, so it is never lost;
    sent by ``notify_sources`` with backoff until the source answers 2xx, and never again after.
    A POST whose answer was lost (crash) is repeated with the same Idempotency-Key header.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting for its next attempt
        SENDING = "sending", "Sending"  # claimed by a notify_sources run
        SENT = "sent", "Sent"  # the source answered 2xx

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="notifications")
    group = models.ForeignKey(CampaignGroup, on_delete=models.CASCADE, related_name="notifications")
    url = models.URLField()
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"Notification {self.group} ({self.state})"


class GreetingRule(models.Model):
    """One way to fill ``{greeting}``. Every condition that is set must hold; among the rules
    that match, the highest priority wins, and a rule for the recipient's country beats a rule
    for everywhere at the same priority. Staff edit and extend these in the admin.
    """

    name = models.CharField(max_length=100)
    phrase = models.CharField(max_length=100)
    country = models.CharField(max_length=2, blank=True, help_text="ISO code (GB, US...); empty: everywhere")
    priority = models.IntegerField(default=0, help_text="Higher wins")
    is_active = models.BooleanField(default=True)
    start_time = models.TimeField(null=True, blank=True, help_text="Local time of day from (inclusive)")
    end_time = models.TimeField(null=True, blank=True, help_text="Local time of day until (exclusive); may wrap")
    weekdays = models.CharField(max_length=20, blank=True, help_text="Comma-separated, 0=Monday ... 6=Sunday")
    start_month = models.PositiveSmallIntegerField(null=True, blank=True)
    start_day = models.PositiveSmallIntegerField(null=True, blank=True)
    end_month = models.PositiveSmallIntegerField(null=True, blank=True)
    end_day = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Date range may wrap the year end")
    easter_offset_start = models.SmallIntegerField(null=True, blank=True, help_text="Days from Easter Sunday")
    easter_offset_end = models.SmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "country", "name"]

    def __str__(self):
        return f"{self.name}: {self.phrase}" + (f" ({self.country})" if self.country else "")

    def clean(self):
        pairs = [
            ("start_time", "end_time"),
            ("start_month", "end_month"),
            ("start_day", "end_day"),
            ("easter_offset_start", "easter_offset_end"),
        ]
        for a, b in pairs:
            if (getattr(self, a) is None) != (getattr(self, b) is None):
                raise ValidationError(f"Set both {a} and {b}, or neither.")
        if self.start_month is not None and self.start_day is None:
            raise ValidationError("A date range needs days as well as months.")
        try:
            self.weekday_set()
        except ValueError:
            raise ValidationError({"weekdays": "Use numbers 0 (Monday) to 6 (Sunday), separated by commas."})

    def weekday_set(self) -> frozenset[int]:
        days = frozenset(int(d) for d in self.weekdays.split(",") if d.strip())
        if any(d < 0 or d > 6 for d in days):
            raise ValueError(self.weekdays)
        return days
