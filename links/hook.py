"""The link hook ``sms.queueing`` calls (``SMS_LINK_HOOK``): ``{link}`` becomes the recipient's
own ``SMS_PUBLIC_URL/l/<token>`` when the text is queued, through every path that queues texts.

A batch costs one extra query (the links' bulk INSERT), whatever its size.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.module_loading import import_string

from links.models import Link
from sms.models import OutboundMessage, State
from sms.queueing import LINK_PLACEHOLDER

#: Letters and digits only: no "-" or "_" that a phone's link detection could cut off at the end.
ALPHABET = string.ascii_letters + string.digits
#: 62**12 ≈ 2**71.4: at least 64 bits of randomness, 12 characters.
TOKEN_LENGTH = 12
PATH = "/l/"

_url_validator = URLValidator(schemes=["http", "https"])


def new_token() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(TOKEN_LENGTH))


def link_url(token: str) -> str:
    return f"{settings.SMS_PUBLIC_URL}{PATH}{token}"


def view_problem(path: str) -> str:
    """Why ``path`` cannot be a target view ("" if it can): it must import and be callable."""
    try:
        view = import_string(path)
    except ImportError as exc:
        return f"The target view {path!r} cannot be imported: {exc}"
    return "" if callable(view) else f"The target view {path!r} is not callable"


def target_problem(target: object) -> str:
    """Why ``target`` is not a usable link target ("" if it is), public URL aside."""
    if not isinstance(target, dict) or not (target.get("url") or target.get("view")):
        return 'The text holds {link} but names no link target (extra_data["link"] = {"url": ...} or {"view": ...})'
    if target.get("url") and target.get("view"):
        return "A link target is a URL or a view, not both"
    if target.get("url"):
        try:
            _url_validator(str(target["url"]))
        except ValidationError:
            return f"The link target {target['url']!r} is not an http(s) URL"
        return ""
    return view_problem(str(target["view"]))


class LinkHook:
    """The shape ``sms.queueing.LinkHook`` describes."""

    def problem(self, target: object) -> str:
        if not settings.SMS_PUBLIC_URL:
            return "SMS_PUBLIC_URL is not configured: {link} needs this site's public address to make links"
        if not settings.SMS_PUBLIC_URL.startswith(("https://", "http://")):
            # Without the scheme many phones do not make the text a link at all.
            return f"SMS_PUBLIC_URL must start with https:// (it is {settings.SMS_PUBLIC_URL!r})"
        return target_problem(target)

    def sample_url(self) -> str:
        return link_url("x" * TOKEN_LENGTH) if settings.SMS_PUBLIC_URL else ""

    def __call__(self, messages: list[OutboundMessage]) -> Callable[[], None] | None:
        now = timezone.now()
        days = settings.LINKS_EXPIRE_AFTER_DAYS
        expires_at = now + timedelta(days=days) if days > 0 else None
        problems: dict[str, str] = {}
        made: list[tuple[OutboundMessage, str, dict]] = []
        for message in messages:
            target = (message.extra_data or {}).get("link")
            key = repr(target)
            if key not in problems:  # a fan-out's texts share one target: check it once
                problems[key] = self.problem(target)
            if problems[key]:
                message.state = State.REFUSED
                message.error = f"Not sent: {problems[key]}"
                continue
            token = new_token()
            message.content = message.content.replace(LINK_PLACEHOLDER, link_url(token))
            message.compute_segments()
            message.extra_data = {**message.extra_data, "link": {**target, "token": token}}
            made.append((message, token, target))
        if not made:
            return None

        def store() -> None:
            Link.objects.bulk_create(
                [
                    Link(
                        token=token,
                        message_id=message.pk,
                        recipient=message.recipient,
                        target_url=str(target.get("url") or ""),
                        target_view=str(target.get("view") or ""),
                        created_at=now,
                        expires_at=expires_at,
                    )
                    for message, token, target in made
                ]
            )

        return store


link_hook = LinkHook()
