"""Campaigns: templates (campaign texts) and campaigns. Issue #3 fills this in."""

from django.db import models
from django.urls import reverse
from django.utils import timezone

from sms.models import AbstractSMSTemplate


class Template(AbstractSMSTemplate):
    """A campaign text; its name is the focus group it serves. Also an sms.api template."""

    name = models.CharField(max_length=200, unique=True, help_text="The focus group this text serves")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Campaign(models.Model):
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("campaigns:detail", args=[self.pk])
