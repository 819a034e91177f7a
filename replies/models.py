"""Replies: the categories staff sort incoming texts into, each text's categorisation, the
append-only history of labels (the classifier's training data) and the trained model versions.

Every categorisation goes through ``Reply.categorise`` so that its source, the label history and
the reply type's action (opt-out, auto-reply) stay in step however it was made.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone


class ReplyType(models.Model):
    """A category of incoming text ("Thanks", "End", "Bot", "Misc" and the staff's own)."""

    class Action(models.TextChoices):
        NONE = "none", "None"  # categorising only
        OPT_OUT = "opt_out", "Opt the contact out"  # the text withdraws consent: suppress the number at once

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    colour = models.CharField(max_length=7, default="#6c757d", help_text="Badge colour, e.g. #198754")
    auto_reply_text = models.TextField(
        blank=True, help_text="Sent back once per incoming text of this type. May use {name} and {greeting}."
    )
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.NONE)
    allows_followup = models.BooleanField(
        default=True, help_text="Campaign follow-ups may still be sent to a contact whose last reply has this type"
    )
    ordering = models.PositiveSmallIntegerField(default=100, help_text="Order in lists; keys 1-9 follow it")

    class Meta:
        ordering = ["ordering", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("replies:type_edit", args=[self.pk])

    def delete(self, *args, **kwargs):
        """Texts of a deleted type go back to the review queue (their labels keep the name)."""
        Reply.objects.filter(reply_type=self).update(needs_review=True, source="", confidence=None)
        return super().delete(*args, **kwargs)

    @property
    def is_bot(self) -> bool:
        return self.slug == "bot"

    def render_auto_reply(self, *, name: str, now=None) -> str:
        from replies.autoreply import render

        return render(self.auto_reply_text, name=name, now=now)


class Source(models.TextChoices):
    STAFF = "staff", "Staff"  # a person chose the type; overrides everything and becomes training data
    CLASSIFIER = "classifier", "Classifier"  # the model's prediction, above the confidence threshold
    KEYWORD = "keyword", "Keyword"  # a deterministic keyword (STOP, START, HELP...), checked before any model


class ReplyQuerySet(models.QuerySet):
    def needs_review(self):
        return self.filter(needs_review=True)

    def counts_by_type(self, *, campaign=None) -> list[dict]:
        """[{"reply_type__name", "reply_type__colour", "n"}] for a campaign's replies (one query)."""
        rows = self
        if campaign is not None:
            rows = rows.filter(message__in_reply_to__campaign=campaign)
        return list(
            rows.values("reply_type__slug", "reply_type__name", "reply_type__colour")
            .annotate(n=Count("pk"))
            .order_by("reply_type__ordering", "reply_type__name")
        )

    def numbers_without_followup(self, numbers) -> set[str]:
        """The subset of ``numbers`` whose latest categorised reply has a type that stops
        follow-ups (End, Bot...). One query; campaigns call it before queueing follow-ups."""
        latest = (
            self.filter(message__sender=OuterRef("message__sender"), reply_type__isnull=False)
            .order_by("-message__received_at", "-pk")
            .values("pk")[:1]
        )
        return set(
            self.filter(message__sender__in=list(numbers), reply_type__allows_followup=False)
            .filter(pk=Subquery(latest))
            .values_list("message__sender", flat=True)
        )

    def sorting_counts(self) -> dict[str, int]:
        """How many texts were sorted by each source, and how many wait for a person."""
        return self.aggregate(
            total=Count("pk"),
            by_classifier=Count("pk", filter=Q(source=Source.CLASSIFIER)),
            by_keyword=Count("pk", filter=Q(source=Source.KEYWORD)),
            by_staff=Count("pk", filter=Q(source=Source.STAFF)),
            needs_review=Count("pk", filter=Q(needs_review=True)),
        )


class Reply(models.Model):
    """The categorisation of one incoming text (one row per InboundMessage)."""

    message = models.OneToOneField(
        "sms.InboundMessage", primary_key=True, on_delete=models.CASCADE, related_name="reply"
    )
    reply_type = models.ForeignKey(ReplyType, null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    source = models.CharField(max_length=10, choices=Source.choices, blank=True)
    confidence = models.FloatField(null=True, blank=True, help_text="The classifier's probability, 0-1")
    keyword = models.CharField(max_length=20, blank=True, help_text="The keyword that matched (stop, start, help)")
    needs_review = models.BooleanField(default=True, db_index=True)
    suggested_type = models.ForeignKey(
        ReplyType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Top suggestion"
    )
    note = models.CharField(max_length=300, blank=True, help_text="Why it was left for review, etc.")
    categorised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    categorised_at = models.DateTimeField(null=True, blank=True)
    auto_replied_at = models.DateTimeField(null=True, blank=True)
    auto_reply = models.ForeignKey(
        "sms.OutboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ReplyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "replies"

    def __str__(self):
        return f"{self.message_id}: {self.reply_type or 'uncategorised'} ({self.source or '-'})"


class Label(models.Model):
    """Append-only history of every categorisation of a text (who/what said which type, when)."""

    message = models.ForeignKey("sms.InboundMessage", on_delete=models.CASCADE, related_name="labels")
    reply_type = models.ForeignKey(ReplyType, null=True, on_delete=models.SET_NULL, related_name="labels")
    type_name = models.CharField(max_length=100, help_text="Copy of the type's name when labelled")
    source = models.CharField(max_length=10, choices=Source.choices)
    confidence = models.FloatField(null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.message_id} → {self.type_name} ({self.source})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("The label history is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("The label history is append-only")


class ClassifierModel(models.Model):
    """One trained version of the reply classifier: its file and its cross-validated metrics."""

    class Status(models.TextChoices):
        READY = "ready", "Ready"  # trained and saved; the newest ready version classifies
        ABSTAINED = "abstained", "Abstained"  # too few labels per type: nothing trained, see note
        FAILED = "failed", "Failed"  # training raised; see note

    version = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices)
    path = models.CharField(max_length=300, blank=True, help_text="Relative to MEDIA_ROOT")
    algorithm = models.CharField(max_length=50, blank=True)
    training_size = models.PositiveIntegerField(default=0)
    staff_labels = models.PositiveIntegerField(default=0, help_text="Staff labels that existed when trained")
    seconds = models.FloatField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self):
        return f"v{self.version} ({self.status})"

    @classmethod
    def current(cls) -> ClassifierModel | None:
        return cls.objects.filter(status=cls.Status.READY).order_by("-version").first()


from replies.rollups import ReplyCount, ReplyCountDelta  # noqa: E402, F401  (the roll-up's models)
