"""Our numbers, the keywords customers text to them, the standard words (STOP, START, HELP),
one dispatch record per routed text, and the brokers that post texts in their own shape.

The router (``keywords/routing.py``) reads these through a per-process cache
(``keywords/cache.py``) that every save and delete here invalidates.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from keywords.parsing import MAX_WORD_LENGTH, normalise, split_words, words
from sms.phone import try_normalise


class Number(models.Model):
    """A number texts are sent to that is ours: a short code or a long number."""

    class Kind(models.TextChoices):
        SHORT_CODE = "short_code", "Short code"  # 3-8 digits, operator-assigned ("567")
        LONG_NUMBER = "long_number", "Long number"  # an ordinary phone number, stored in E.164

    number = models.CharField(max_length=20, unique=True, help_text="Short code (567) or long number (E.164)")
    name = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SHORT_CODE)
    catch_all = models.ForeignKey(
        "Keyword",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="catch_all_for",
        help_text="Takes every text to this number that no other keyword matched",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]

    def __str__(self):
        return f"{self.number} ({self.name})" if self.name else self.number

    def clean(self):
        self.number = canonical_number(self.number, kind=self.kind)
        if not self.number:
            raise ValidationError({"number": "Enter a short code (digits) or a phone number."})


def canonical_number(value: str, *, kind: str = "") -> str:
    """Short codes as digits, long numbers in E.164, so a gateway's "+44 7...", "447..." and
    a short code sent as "+567" find the same row."""
    value = (value or "").strip()
    digits = "".join(ch for ch in value if ch.isdigit())
    if kind == Number.Kind.SHORT_CODE:
        return digits
    if kind == Number.Kind.LONG_NUMBER:
        return try_normalise(value) or ""
    return try_normalise(value) or (digits if 3 <= len(digits) <= 8 else value[:20])


class KeywordQuerySet(models.QuerySet):
    def live(self, now=None):
        now = now or timezone.now()
        return self.filter(is_active=True).filter(
            Q(active_from__isnull=True) | Q(active_from__lte=now),
            Q(active_until__isnull=True) | Q(active_until__gt=now),
        )


class Keyword(models.Model):
    """A word customers text in ("JOIN", "ABC" in "ABC.UNICORN") and what happens then."""

    word = models.CharField(
        max_length=MAX_WORD_LENGTH, unique=True, help_text="Letters and digits; matched in any case, as the prefix"
    )
    description = models.CharField(max_length=200, blank=True)
    numbers = models.ManyToManyField(
        Number, blank=True, related_name="keywords", help_text="None selected: listens on all our numbers"
    )
    is_active = models.BooleanField(default=True)
    active_from = models.DateTimeField(null=True, blank=True)
    active_until = models.DateTimeField(null=True, blank=True)
    reply_template = models.TextField(
        blank=True, help_text="Texted back when matched. May use {argument}, {word}, {name} and {link}."
    )
    reply_type_slug = models.SlugField(
        max_length=100, blank=True, help_text="Reply type (slug) the texts are filed under in the inbox"
    )
    handler = models.CharField(
        max_length=200, blank=True, help_text="Dotted path of a callable handler(message, argument) -> Result"
    )
    per_contact_limit = models.PositiveIntegerField(
        default=0, help_text="Times one number may use this keyword (0: no limit); later texts are only filed"
    )
    link_url = models.URLField(max_length=500, blank=True, help_text="Target of {link} in the reply: a URL")
    link_view = models.CharField(
        max_length=200, blank=True, help_text="...or the dotted path of a view receiving the recipient and message"
    )
    created_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(auto_now=True)
    # Handler health (keywords.pipeline.record_health); the last success is the latest Dispatch.
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    objects = KeywordQuerySet.as_manager()

    class Meta:
        ordering = ["word"]

    def __str__(self):
        return self.word

    def save(self, *args, **kwargs):
        self.word = normalise(self.word)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("keywords:keyword", args=[self.pk])

    @property
    def routed_by(self) -> str:
        return f"keyword:{self.word}"

    def link_target(self) -> dict | None:
        """``extra_data["link"]`` for the reply (see SEAMS: the links app fills in ``{link}``)."""
        if self.link_url:
            return {"url": self.link_url}
        if self.link_view:
            return {"view": self.link_view}
        return None

    def clean(self):
        self.word = normalise(self.word)
        errors = {}
        if not self.word:
            errors["word"] = "A keyword needs letters or digits."
        else:
            clash = StandardWords.load().kind_of(self.word)
            if clash == "stop":
                errors["word"] = (
                    f"{self.word} is an opt-out word (like STOP): a keyword can never take the place of an opt-out."
                )
            elif clash:
                errors["word"] = (
                    f"{self.word} is a {clash.upper()} word; remove it from the {clash.upper()} words first."
                )
        for field in ("handler", "link_view"):
            path = getattr(self, field).strip()
            setattr(self, field, path)
            if path and (error := _check_callable(path)):
                errors[field] = error
        if self.link_url and self.link_view:
            errors["link_view"] = "Give a link URL or a link view, not both."
        if self.active_from and self.active_until and self.active_until <= self.active_from:
            errors["active_until"] = "Must be after the start."
        if self.reply_template and (error := _check_template(self.reply_template)):
            errors["reply_template"] = error
        elif "{link}" in self.reply_template and not (self.link_url or self.link_view):
            errors["reply_template"] = "The reply has {link}: give the link's target (URL or view)."
        if errors:
            raise ValidationError(errors)


def _check_template(template: str) -> str:
    from keywords.actions import render_reply

    try:
        render_reply(template, word="ABC", argument="X", name="Zoë")
    except (ValueError, IndexError, KeyError, AttributeError) as exc:
        return f"Cannot fill in this reply ({exc}); write braces only around word, argument, name or link."
    return ""


def _check_callable(path: str) -> str:
    """An error message, or "" when ``path`` imports to a callable."""
    if "." not in path:
        return "Give the full dotted path, e.g. myapp.handlers.on_keyword."
    try:
        target = import_string(path)
    except ImportError as exc:
        return f"Cannot import {path}: {exc}"
    if not callable(target):
        return f"{path} is not callable."
    return ""


class StandardWords(models.Model):
    """The words that opt out, opt back in and ask for help, and their answers.

    One row at most (pk 1). With no row the environment's ``REPLIES_*`` settings apply; staff
    editing them in the dashboard create the row, and "reset" deletes it.
    """

    opt_out_words = models.TextField(help_text="Whole texts that opt the number out at once (STOP...)")
    opt_in_words = models.TextField(help_text="Whole texts that opt back in (START...)")
    help_words = models.TextField(help_text="Whole texts that get the help answer (HELP...)")
    help_text = models.TextField(blank=True, help_text="Answer to HELP (empty: no answer)")
    opt_out_confirmation = models.TextField(blank=True, help_text="The one text after an opt-out (empty: none)")
    opt_in_confirmation = models.TextField(blank=True, help_text="Answer to START (empty: none)")
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "standard words"

    def __str__(self):
        return "STOP / START / HELP words"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def from_settings(cls) -> StandardWords:
        return cls(
            pk=1,
            opt_out_words=", ".join(settings.REPLIES_OPT_OUT_KEYWORDS),
            opt_in_words=", ".join(settings.REPLIES_OPT_IN_KEYWORDS),
            help_words=", ".join(settings.REPLIES_HELP_KEYWORDS),
            help_text=settings.REPLIES_HELP_TEXT,
            opt_out_confirmation=settings.REPLIES_OPT_OUT_CONFIRMATION,
            opt_in_confirmation=settings.REPLIES_OPT_IN_CONFIRMATION,
        )

    @classmethod
    def load(cls) -> StandardWords:
        """The row staff saved, else the environment's words (through the router's cache)."""
        from keywords import cache

        return cache.snapshot().standard

    @classmethod
    def load_uncached(cls) -> StandardWords:
        return cls.objects.filter(pk=1).first() or cls.from_settings()

    def word_sets(self) -> dict[str, frozenset[str]]:
        return {
            "stop": words(split_words(self.opt_out_words)),
            "start": words(split_words(self.opt_in_words)),
            "help": words(split_words(self.help_words)),
        }

    def kind_of(self, word: str) -> str:
        """ "stop", "start", "help" or "" for a normalised word."""
        for kind, members in self.word_sets().items():
            if word in members:
                return kind
        return ""

    def clean(self):
        sets = self.word_sets()
        if not sets["stop"]:
            raise ValidationError({"opt_out_words": "There must be at least one opt-out word."})
        taken = set(Keyword.objects.filter(word__in=sets["start"] | sets["help"]).values_list("word", flat=True))
        if taken:
            raise ValidationError(
                {"help_words": f"Already configured as keywords: {', '.join(sorted(taken))}. Delete those first."}
            )


class Dispatch(models.Model):
    """What the router did with one inbound text: the per-message record of "done".

    Written in the text's own transaction, so a crash leaves nothing and the gateway's retry
    starts over; a retry of a text already ``done`` runs nothing again.
    """

    class State(models.TextChoices):
        DONE = "done", "Done"  # routed and, if it has a handler, the handler said handled
        LIMITED = "limited", "Over the limit"  # the contact used the keyword up: filed, nothing run
        FAILED = "failed", "Keyword failed"  # the handler never succeeded in time: in the inbox for staff

    message = models.OneToOneField(
        "sms.InboundMessage", primary_key=True, on_delete=models.CASCADE, related_name="keyword_dispatch"
    )
    routed_by = models.CharField(max_length=40)
    keyword = models.ForeignKey(Keyword, null=True, blank=True, on_delete=models.SET_NULL, related_name="dispatches")
    sender = models.CharField(max_length=20, db_index=True)
    argument = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DONE)
    attempts = models.PositiveSmallIntegerField(default=1)
    error = models.TextField(blank=True)
    reply = models.ForeignKey("sms.OutboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["keyword", "sender", "state"])]

    def __str__(self):
        return f"{self.message_id}: {self.routed_by} ({self.state})"


class BrokerProvider(models.Model):
    """An aggregator that posts texts in the broker's shape: ``?origin=&text=&destination=``.

    Only a SHA-256 of the secret is stored; the page shows a new secret once.
    """

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=40, unique=True, help_text="In the URL: /sms/notification/<slug>/")
    origin_field = models.CharField(max_length=40, default="origin", help_text="Field with the sender's number")
    text_field = models.CharField(max_length=40, default="text")
    destination_field = models.CharField(max_length=40, default="destination", help_text="Field with our number")
    id_field = models.CharField(
        max_length=40, blank=True, help_text="Field with the broker's id of the text, if it sends one"
    )
    secret_hash = models.CharField(max_length=64, editable=False)
    allowed_ips = models.TextField(
        blank=True, help_text="CIDR ranges the broker calls from, one per line (empty: any address)"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("keywords:provider_edit", args=[self.pk])

    @property
    def backend(self) -> str:
        """The ``InboundMessage.backend`` of the texts it posts."""
        return f"broker-{self.slug}"

    def set_secret(self, secret: str) -> None:
        self.secret_hash = hashlib.sha256(secret.encode()).hexdigest()

    def check_secret(self, secret: str) -> bool:
        if not secret or not self.secret_hash:
            return False
        return hmac.compare_digest(hashlib.sha256(secret.encode()).hexdigest(), self.secret_hash)

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(part, strict=False) for part in split_words(self.allowed_ips)]

    def allows(self, address: str) -> bool:
        networks = self.networks()
        if not networks:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    def clean(self):
        try:
            self.networks()
        except ValueError as exc:
            raise ValidationError({"allowed_ips": f"Not a CIDR range: {exc}"}) from None
