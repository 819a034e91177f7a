"""Staff opt-outs waiting out their grace period (``sms.consent`` applies and cancels them).

A model of the ``sms`` app kept in its own module (``sms.models`` imports it at its end).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from sms.models import Contact


class PendingOptOutQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=PendingOptOut.Status.PENDING)

    def due(self, now=None):
        return self.active().filter(due_at__lte=now or timezone.now())


class PendingOptOut(models.Model):
    """An opt-out staff gave by labelling a text "End": it stands only after a grace period in
    which staff may undo it (one wrong key must not silence a person). Meanwhile texts to the
    number are held, not sent; once it stands they are refused and the confirmation leaves.
    ``sms.consent`` applies and cancels them; the customer's own STOP never comes here."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # within the grace period (or due, not yet applied)
        APPLIED = "applied", "Applied"  # the opt-out stands: recorded in the consent ledger
        CANCELLED = "cancelled", "Cancelled"  # undone or re-labelled within the grace period

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="pending_opt_outs")
    number = models.CharField(max_length=20, db_index=True)
    message = models.ForeignKey(
        "InboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="pending_opt_outs"
    )
    reason = models.CharField(max_length=300)
    source = models.CharField(max_length=50)
    evidence = models.TextField(blank=True)
    confirmation = models.TextField(blank=True, help_text="Sent once the opt-out stands (empty: none)")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PendingOptOutQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]

    def __str__(self):
        return f"{self.number} opt-out {self.status} (due {self.due_at:%H:%M:%S})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING
