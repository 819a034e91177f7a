"""Backend registry: slug -> backend class, from ``settings.SMS_BACKENDS``.

``get_backend("twilio")`` gives an instance configured from settings;
``get_backend("twilio", account_sid=..., auth_token=...)`` one with its own credentials
(a gateway account modelled as a SIM card).
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from sms.backends.base import (  # noqa: F401  (re-exported: the public interface)
    BackendError,
    BaseBackend,
    InboundData,
    SendResult,
    StatusReport,
    WebhookBadRequest,
    WebhookForbidden,
)


@lru_cache(maxsize=64)
def get_backend_class(slug_or_path: str) -> type[BaseBackend]:
    path = settings.SMS_BACKENDS.get(slug_or_path, slug_or_path)
    if "." not in path:
        raise ImproperlyConfigured(f"Unknown SMS backend {slug_or_path!r}; known: {', '.join(settings.SMS_BACKENDS)}")
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"Cannot import SMS backend {path!r}: {exc}") from exc
    return cls


def get_backend(slug_or_path: str | None = None, **options) -> BaseBackend:
    return get_backend_class(slug_or_path or settings.SMS_DEFAULT_BACKEND)(**options)


def backend_slugs() -> list[str]:
    return list(settings.SMS_BACKENDS)


def clear_cache() -> None:
    get_backend_class.cache_clear()
