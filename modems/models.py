"""Networks, SIM cards (a USB modem's SIM, or a gateway account), their daily counts, and the
parts of long incoming texts waiting for their siblings.

Gateway credentials are never stored in the database: a SIM card names the *environment
variables* that hold them (``{"account_sid": "SIM_SHOP2_TWILIO_SID"}``). A database dump, a
backup or a page can then never leak a secret, there is no encryption key to manage (an
encrypted column is only as safe as the key, which would sit next to it in the same
environment), and rotating a secret is an environment change. The variable names must start
with ``MODEMS_CREDENTIALS_ENV_PREFIX`` so a staff user cannot point a SIM at ``SECRET_KEY``
or ``DATABASE_URL`` and have the app send it to a server of their choosing.
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

ENV_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
OPTION_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


# An MCC is three digits (200-799 for countries; 001 and 999 for tests, 901 international),
# an MNC two or three: "23415" is Vodafone UK, "310260" T-Mobile US.
MCC_MNC_RE = re.compile(r"^(?:[2-7]\d\d|001|901|999)\d{2,3}$")


def parse_mcc_mnc(value: str) -> list[str]:
    """The codes of ``value`` ("234 15, 23410; 234-20" -> ["23415", "23410", "23420"]), or
    ValidationError naming each one that is not a code."""
    codes, bad = [], []
    for item in re.split(r"[,;\n]+", value or ""):
        code = re.sub(r"[\s-]", "", item)
        if not code:
            continue
        if MCC_MNC_RE.match(code):
            if code not in codes:
                codes.append(code)
        else:
            bad.append(item.strip())
    if bad:
        shown = ", ".join(f"“{b}”" for b in bad)
        raise ValidationError(
            f"Not an MCC-MNC code: {shown}. A code is 5 or 6 digits, the country's MCC then the "
            "operator's MNC, e.g. 23415 (234 UK + 15 Vodafone); separate several with commas."
        )
    return codes


def validate_mcc_mnc(value: str) -> None:
    parse_mcc_mnc(value)


class Network(models.Model):
    class Kind(models.TextChoices):
        OPERATOR = "operator", "Mobile operator"  # SIMs in modems; recipients may be on it
        GATEWAY = "gateway", "SMS gateway"  # an HTTP gateway; its "SIMs" are accounts

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OPERATOR)
    mcc_mnc = models.CharField(
        "MCC-MNC codes",
        max_length=200,
        blank=True,
        help_text="Comma-separated, e.g. 23415 (the code a modem reports for the operator)",
        validators=[validate_mcc_mnc],
    )
    carrier_names = models.CharField(
        max_length=300,
        blank=True,
        help_text="Comma-separated carrier names as libphonenumber spells them (e.g. Vodafone, O2), "
        "used to recognise recipients on this network",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("modems:network_edit", args=[self.pk])

    def matches_carrier(self, carrier: str) -> bool:
        if not carrier:
            return False
        wanted = carrier.casefold()
        return wanted == self.name.casefold() or wanted in {name.casefold() for name in _split(self.carrier_names)}

    def matches_code(self, code: str) -> bool:
        return bool(code) and code in _split(self.mcc_mnc)


class SimCardQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)

    def modems(self):
        return self.exclude(device="")

    def low_on_balance(self):
        """Active gateway accounts whose last known balance is below their threshold."""
        return self.active().filter(
            balance__isnull=False, low_balance_threshold__isnull=False, balance__lt=F("low_balance_threshold")
        )

    def with_today(self, day: date | None = None):
        """Annotate ``sent_today`` (0 when there is no row yet): one query for a list page."""
        day = day or timezone.localdate()
        return self.annotate(
            sent_today=models.functions.Coalesce(
                models.Subquery(SimDayCount.objects.filter(sim=models.OuterRef("pk"), date=day).values("sent")[:1]),
                0,
            )
        )


class SimCard(models.Model):
    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="sims")
    number = models.CharField(max_length=20, blank=True, help_text="The SIM's own number (E.164), used as sender")
    name = models.CharField(max_length=100, blank=True)
    device = models.CharField(
        "modem device",
        max_length=200,
        blank=True,
        help_text="Serial port of the USB modem, e.g. /dev/ttyUSB2, /dev/serial/by-id/... or socket://host:port",
    )
    backend = models.CharField(
        "gateway backend", max_length=50, blank=True, help_text="For a gateway account: the backend slug"
    )
    credentials_env = models.JSONField(
        "credential variables",
        default=dict,
        blank=True,
        help_text="Backend option → name of the environment variable holding its value",
    )
    daily_limit = models.PositiveIntegerField(default=200, help_text="Most SMS parts this SIM may send per day")
    active = models.BooleanField(default=True)
    priority = models.SmallIntegerField(default=0, help_text="Higher first, among SIMs on the recipient's network")
    # What one SMS part costs through this route: the Stats page's cost estimate.
    price_per_segment = models.DecimalField(
        max_digits=8, decimal_places=5, null=True, blank=True, help_text="Price of one SMS part; empty: unknown"
    )
    currency = models.CharField(max_length=3, blank=True, default="GBP", help_text="ISO 4217 code, e.g. GBP, EUR, USD")
    # Sending speed of a gateway account (a modem always sends one text at a time).
    max_in_flight = models.PositiveSmallIntegerField(
        "requests in flight",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(256)],
        help_text="Gateway requests one worker keeps open at once on this account (empty: SMS_SEND_CONCURRENCY)",
    )
    messages_per_second = models.FloatField(
        "messages per second",
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01)],
        help_text="Most texts per second across all workers (segments per second where the gateway counts "
        "segments, as Twilio does); empty: no limit. See the README for each provider's published limits.",
    )
    # What the modem said last time we asked (modem_status, read_in, the SIM page).
    status_checked_at = models.DateTimeField(null=True, blank=True)
    sim_status = models.CharField(max_length=30, blank=True)
    signal_rssi = models.SmallIntegerField(null=True, blank=True)
    registration = models.SmallIntegerField(null=True, blank=True)
    operator = models.CharField(max_length=100, blank=True)
    storage_used = models.SmallIntegerField(null=True, blank=True)
    storage_total = models.SmallIntegerField(null=True, blank=True)
    status_error = models.CharField(max_length=500, blank=True)
    # Who the modem is (modem_status asks it): make, model, firmware, IMEI; IMSI of the SIM.
    manufacturer = models.CharField(max_length=100, blank=True)
    modem_model = models.CharField("model", max_length=100, blank=True)
    firmware = models.CharField(max_length=100, blank=True)
    imei = models.CharField("IMEI", max_length=20, blank=True)
    imsi = models.CharField("IMSI", max_length=20, blank=True)
    # read_in's own last outcome, kept apart from modem_status's (status_*).
    last_read_at = models.DateTimeField(null=True, blank=True)
    read_error = models.CharField(max_length=500, blank=True)
    pin_env = models.CharField(
        "PIN variable",
        max_length=100,
        blank=True,
        help_text="For a SIM that asks for its PIN: the environment variable holding it (never stored here)",
    )
    #: The SIM refused the PIN: it is not entered again until staff save the SIM (three wrong
    #: PINs would block the SIM until its PUK is entered).
    pin_refused = models.BooleanField(default=False, editable=False)
    # A gateway account's credit, as its provider's balance API said last time (modems.balances).
    balance = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    balance_currency = models.CharField(max_length=10, blank=True)
    balance_checked_at = models.DateTimeField(null=True, blank=True)
    balance_error = models.CharField(max_length=500, blank=True)
    low_balance_threshold = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Warn on the dashboard when the account's balance falls below this (empty: never)",
    )
    # Route options and failover (issue 15).
    options = models.JSONField(
        "route options",
        default=dict,
        blank=True,
        help_text="Backend settings that are not secret (SMPP host, port, system_id, window; an HTTP "
        "connector's request). Secrets go in the credential variables.",
    )
    prefixes = models.CharField(
        "destination prefixes",
        max_length=300,
        blank=True,
        help_text="Comma-separated E.164 prefixes this route is first choice for (e.g. +44, +4477); "
        "blank: any destination at its priority",
    )
    healthy = models.BooleanField(default=True)
    failing_since = models.DateTimeField(null=True, blank=True, help_text="First failure of the current streak")
    health_changed_at = models.DateTimeField(null=True, blank=True)
    health_reason = models.CharField(max_length=300, blank=True)
    next_probe_at = models.DateTimeField(null=True, blank=True, help_text="When an unhealthy route is tried again")
    link_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="SMPP: the worker last confirmed its bind (enquire_link) at"
    )

    objects = SimCardQuerySet.as_manager()

    class Meta:
        ordering = ["-active", "-priority", "name", "pk"]

    def __str__(self):
        return self.name or self.number or f"SIM {self.pk}"

    def get_absolute_url(self):
        return reverse("modems:sim_detail", args=[self.pk])

    @property
    def is_modem(self) -> bool:
        return bool(self.device)

    @property
    def route_label(self) -> str:
        return f"modem {self.device}" if self.is_modem else f"{self.backend} account"

    def clean(self):
        if bool(self.device) == bool(self.backend):
            raise ValidationError("Give either the modem's device path or a gateway backend, not both.")
        if self.backend and self.backend not in settings.SMS_BACKENDS:
            raise ValidationError({"backend": f"Unknown backend {self.backend!r}"})
        prefix = settings.MODEMS_CREDENTIALS_ENV_PREFIX
        if self.pin_env and (not ENV_NAME_RE.match(self.pin_env) or not self.pin_env.startswith(prefix)):
            raise ValidationError(
                {"pin_env": f"{self.pin_env!r}: variable names are upper case and start with {prefix}"}
            )
        for option, env_name in (self.credentials_env or {}).items():
            if not OPTION_RE.match(str(option)):
                raise ValidationError({"credentials_env": f"{option!r} is not an option name"})
            if not ENV_NAME_RE.match(str(env_name)) or not str(env_name).startswith(prefix):
                raise ValidationError(
                    {"credentials_env": f"{env_name!r}: variable names are upper case and start with {prefix}"}
                )

    def pin(self) -> str:
        """The PIN to enter when the SIM asks for it: from the environment, "" when none is
        configured or the SIM refused it last time."""
        if not self.pin_env or self.pin_refused:
            return ""
        return os.environ.get(self.pin_env, "").strip()

    @property
    def sim_status_text(self) -> str:
        from modems.driver import describe_sim_state

        return describe_sim_state(self.sim_status) if self.sim_status else ""

    def record_read(self, *, error: str = "") -> None:
        """read_in's outcome (kept apart from modem_status's)."""
        self.last_read_at = timezone.now()
        self.read_error = error[:500]
        SimCard.objects.filter(pk=self.pk).update(last_read_at=self.last_read_at, read_error=self.read_error)

    def missing_credentials(self) -> list[str]:
        return [name for name in self.credentials_env.values() if not os.environ.get(name)]

    def credentials(self) -> dict[str, str]:
        """Backend options read from the environment now (never stored, never shown)."""
        return {option: os.environ.get(name, "") for option, name in self.credentials_env.items()}

    @property
    def signal_dbm(self) -> int | None:
        return None if self.signal_rssi is None else -113 + 2 * self.signal_rssi

    @property
    def signal_bars(self) -> int:
        """0-4 bars, as a phone would show (RSSI 2-9 marginal, 10-14 ok, 15-19 good, 20+ excellent)."""
        rssi = self.signal_rssi
        if rssi is None or rssi < 2:
            return 0
        return 1 if rssi < 10 else 2 if rssi < 15 else 3 if rssi < 20 else 4

    @property
    def registration_text(self) -> str:
        from modems.driver import REGISTRATION

        return REGISTRATION.get(self.registration, "unknown") if self.registration is not None else "not checked"

    def record_status(self, status=None, *, error: str = "") -> None:
        """Store a ModemStatus (or the error that prevented reading one)."""
        self.status_checked_at = timezone.now()
        self.status_error = error[:500]
        if status is not None:
            self.sim_status = status.sim[:30]
            self.signal_rssi = status.signal_rssi
            self.registration = status.registration
            self.operator = status.operator[:100]
            self.storage_used = status.storage_used
            self.storage_total = status.storage_total
            identity = getattr(status, "identity", None)
            if identity is not None:
                # Keep what an earlier check learnt when this one could not ask (a locked SIM has no IMSI).
                self.manufacturer = identity.manufacturer[:100] or self.manufacturer
                self.modem_model = identity.model[:100] or self.modem_model
                self.firmware = identity.firmware[:100] or self.firmware
                self.imei = identity.imei[:20] or self.imei
                self.imsi = identity.imsi[:20] or self.imsi
        self.save(
            update_fields=[
                "status_checked_at",
                "status_error",
                "sim_status",
                "signal_rssi",
                "registration",
                "operator",
                "storage_used",
                "storage_total",
                "manufacturer",
                "modem_model",
                "firmware",
                "imei",
                "imsi",
            ]
        )

    @property
    def is_low_on_balance(self) -> bool:
        return (
            self.balance is not None
            and self.low_balance_threshold is not None
            and self.balance < self.low_balance_threshold
        )

    def daily_counts(self, *, days: int = 30, today: date | None = None) -> list[tuple[date, int]]:
        """(date, sent) for the last ``days`` days, oldest first, zeros included."""
        today = today or timezone.localdate()
        start = today - timedelta(days=days - 1)
        stored = dict(self.day_counts.filter(date__gte=start, date__lte=today).values_list("date", "sent"))
        return [(start + timedelta(days=i), stored.get(start + timedelta(days=i), 0)) for i in range(days)]

    def sent_today(self) -> int:
        row = self.day_counts.filter(date=timezone.localdate()).first()
        return row.sent if row else 0

    @property
    def hands_over(self) -> bool:
        """Texts for this route are sent by its own worker process (SMPP), not the dispatcher."""
        if not self.backend:
            return False
        from django.core.exceptions import ImproperlyConfigured

        from sms.backends import get_backend_class

        try:
            return getattr(get_backend_class(self.backend), "hands_over", False)
        except ImproperlyConfigured:  # a backend removed from the settings since
            return False

    def link_is_up(self, now=None) -> bool:
        if not self.link_seen_at:
            return False
        now = now or timezone.now()
        return self.link_seen_at > now - timedelta(seconds=settings.SMPP_LINK_STALE_SECONDS)

    def prefix_list(self) -> list[str]:
        return _split(self.prefixes)


class SimDayCountQuerySet(models.QuerySet):
    def ensure(self, sim_ids, day: date) -> None:
        """Create today's rows (sent=0) where missing, so reservations are plain UPDATEs."""
        self.bulk_create([SimDayCount(sim_id=pk, date=day) for pk in sim_ids], ignore_conflicts=True)

    def reserve(self, *, sim_id: int, day: date, parts: int, limit: int) -> bool:
        """Take ``parts`` from the SIM's allowance if it still has them: one conditional UPDATE.

        Under concurrent dispatchers the database serialises the UPDATEs on the row, and the
        condition is evaluated against the committed count, so the total never passes the limit.
        """
        if parts <= 0:
            return True
        return bool(self.filter(sim_id=sim_id, date=day, sent__lte=limit - parts).update(sent=F("sent") + parts))

    def release(self, *, sim_id: int, day: date, parts: int) -> None:
        """Give back allowance reserved for texts that did not go."""
        if parts > 0:
            self.filter(sim_id=sim_id, date=day, sent__gte=parts).update(sent=F("sent") - parts)


class SimDayCount(models.Model):
    """SMS parts sent (reserved and not given back) through a SIM on one local day."""

    sim = models.ForeignKey(SimCard, on_delete=models.CASCADE, related_name="day_counts")
    date = models.DateField()
    sent = models.PositiveIntegerField(default=0)
    received = models.PositiveIntegerField(default=0)

    objects = SimDayCountQuerySet.as_manager()

    class Meta:
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["sim", "date"], name="modems_one_count_per_sim_day")]

    def __str__(self):
        return f"{self.sim} {self.date}: {self.sent}"


class InboundPart(models.Model):
    """One part of a long incoming text, kept until all its parts are here (or it is too old).

    A part is copied here, committed, and only then deleted from the SIM, so SIM memory does
    not fill up with halves of texts whose other parts are late.
    """

    sim = models.ForeignKey(SimCard, on_delete=models.CASCADE, related_name="inbound_parts")
    sender = models.CharField(max_length=20)
    reference = models.PositiveIntegerField()
    total = models.PositiveSmallIntegerField()
    seq = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(help_text="The service centre's time stamp")
    text = models.TextField()
    first_seen_at = models.DateTimeField(default=timezone.now)
    # Set once the text is assembled and stored; the row stays a while so a re-read part is
    # recognised (its SIM copy could not be deleted) instead of starting a new text.
    assembled_into = models.ForeignKey(
        "sms.InboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["sim", "sender", "reference", "seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["sim", "sender", "reference", "total", "seq", "sent_at"], name="modems_part_once"
            )
        ]

    def __str__(self):
        return f"{self.sender} ref {self.reference}: {self.seq}/{self.total}"


class RouteHealthEvent(models.Model):
    """A route (SIM) turning unhealthy or healthy again, with why: the route page's history."""

    sim = models.ForeignKey(SimCard, on_delete=models.CASCADE, related_name="health_events")
    at = models.DateTimeField(default=timezone.now)
    healthy = models.BooleanField()
    reason = models.CharField(max_length=300, blank=True)
    moved = models.PositiveIntegerField(default=0, help_text="Waiting texts moved to other routes")

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.sim} {'up' if self.healthy else 'down'} at {self.at:%Y-%m-%d %H:%M}"


class SmppPart(models.Model):
    """One submit_sm of an outbound text: its SMSC message id (from submit_sm_resp) and the
    state its receipt gave. The text is DELIVERED when every part is."""

    message = models.ForeignKey("sms.OutboundMessage", on_delete=models.CASCADE, related_name="smpp_parts")
    sim = models.ForeignKey(SimCard, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveSmallIntegerField()
    total = models.PositiveSmallIntegerField()
    smsc_id = models.CharField("SMSC message id", max_length=65)
    stat = models.CharField(max_length=10, blank=True, help_text="DELIVRD, UNDELIV... from the receipt")
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["message", "seq"]
        indexes = [models.Index(fields=["sim", "smsc_id"], name="modems_smpp_part_id")]

    def __str__(self):
        return f"{self.smsc_id} ({self.seq}/{self.total})"


class SmppEarlyReceipt(models.Model):
    """A receipt whose message id we have not stored yet (it overtook its submit_sm_resp):
    kept here and applied as soon as that id arrives."""

    sim = models.ForeignKey(SimCard, on_delete=models.CASCADE, related_name="+")
    smsc_id = models.CharField("SMSC message id", max_length=65, db_index=True)
    stat = models.CharField(max_length=10)
    error = models.CharField(max_length=20, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at"]

    def __str__(self):
        return f"{self.smsc_id}: {self.stat}"
