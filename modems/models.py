"""Networks and SIM cards (modems or gateway accounts). Issue #5 fills this in."""

from django.db import models


class Network(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class SimCard(models.Model):
    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="sims")
    number = models.CharField(max_length=20, blank=True)
    name = models.CharField(max_length=100, blank=True)

    def __str__(self):
        return self.name or self.number or f"SIM {self.pk}"
