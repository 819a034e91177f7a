"""Per-recipient tracked links: one ``Link`` per outbound text holding ``{link}``, and its clicks.

A link's token is its only name in the URL (``/l/<token>``): random, never derived from an id,
so nobody can walk from one recipient's link to another's.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class LinkQuerySet(models.QuerySet):
    def live(self, now=None):
        """Links that may still be followed: not revoked, not expired."""
        now = now or timezone.now()
        not_expired = models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        return self.filter(not_expired, revoked_at__isnull=True)

    def revoke(self) -> int:
        return self.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


class Link(models.Model):
    """The link one recipient got in one text, and where it takes them."""

    token = models.CharField(max_length=32, unique=True, editable=False)
    message = models.OneToOneField("sms.OutboundMessage", on_delete=models.CASCADE, related_name="link")
    recipient = models.CharField(max_length=20, db_index=True, help_text="E.164, a copy of the text's recipient")
    target_url = models.URLField(max_length=1000, blank=True, help_text="Where the recipient is redirected")
    target_view = models.CharField(
        max_length=200, blank=True, help_text="Or: dotted path of a callable (request, link) -> response"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires")
    revoked_at = models.DateTimeField(null=True, blank=True)
    #: Set by the first click of a person (not a bot): that click is the recipient's unique click.
    first_clicked_at = models.DateTimeField(null=True, blank=True)

    objects = LinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"/l/{self.token} for {self.recipient}"

    @property
    def target(self) -> str:
        return self.target_url or self.target_view

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class Click(models.Model):
    """One opening of a link: by a person (``is_unique`` on their first) or by a preview bot."""

    link = models.ForeignKey(Link, on_delete=models.CASCADE, related_name="clicks")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user_agent = models.CharField(max_length=500, blank=True)
    is_bot = models.BooleanField(default=False, help_text="A link-preview fetcher, a crawler or a HEAD request")
    is_unique = models.BooleanField(default=False, help_text="The recipient's first click (people only)")

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["link", "at"], name="links_click_link_at_idx")]

    def __str__(self):
        return f"{'Bot' if self.is_bot else 'Click'} on {self.link_id} at {self.at:%Y-%m-%d %H:%M}"
