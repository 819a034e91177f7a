"""HTTP plumbing shared by the gateway backends: time-outs, Retry-After, network errors.

Every gateway call goes through ``call()``: a network failure or a time-out becomes a temporary
``BackendError`` (the dispatcher retries it later), an HTTP 429 a throttled one that honours
Retry-After, any other 5xx a temporary one. What a 2xx/4xx body means is the backend's business.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from sms.backends.base import BackendError

logger = logging.getLogger(__name__)

USER_AGENT = "Texting (SMS campaigns; +https://github.com/texting)"


def pooled_adapter() -> HTTPAdapter:
    """A connection pool as large as the requests one worker keeps in flight: with requests'
    default of 10, the 11th concurrent request opens a connection that is then thrown away."""
    size = max(int(settings.SMS_SEND_THREADS), 10)
    return HTTPAdapter(pool_connections=4, pool_maxsize=size, pool_block=False)


def pool(session: requests.Session) -> requests.Session:
    """Mount a pooled adapter sized for concurrent sending on ``session`` (http and https)."""
    session.mount("https://", pooled_adapter())
    session.mount("http://", pooled_adapter())
    return session


def new_session() -> requests.Session:
    session = pool(requests.Session())
    session.headers["User-Agent"] = USER_AGENT
    # Never read proxies/credentials from ~/.netrc or the environment for gateway calls made
    # with a password in the query string: they would leak to whatever proxy is configured.
    session.trust_env = False
    return session


_session_lock = threading.Lock()


class SessionMixin:
    """A backend's ``requests`` session, created on first use: webhook calls build a backend
    but never talk to the gateway.

    Thread-safe: the dispatcher sends from many threads through one backend instance. The
    session is created once under a lock; ``requests.Session.request`` with a fixed
    configuration (headers, adapters set here and never changed afterwards) is safe to share,
    its urllib3 pool hands each thread its own connection. Credentials go with each request,
    never into the session, so nothing per-call is stored on it.
    """

    _session: requests.Session | None = None

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            with _session_lock:
                if self._session is None:
                    self._session = new_session()
        return self._session


def timeout() -> float:
    return float(settings.SMS_GATEWAY_TIMEOUT_SECONDS)


def retry_after_seconds(value: str | None) -> float | None:
    """Read Retry-After: seconds ("120") or an HTTP date. None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def call(session: requests.Session, method: str, url: str, *, gateway: str, **kwargs) -> requests.Response:
    """One HTTP call to a gateway, with the configured time-out; transport failures mapped."""
    kwargs.setdefault("timeout", timeout())
    try:
        response = session.request(method, url, **kwargs)
    except requests.Timeout as exc:
        raise BackendError(f"{gateway}: no answer within {kwargs['timeout']:g} s ({exc.__class__.__name__})") from exc
    except requests.RequestException as exc:
        raise BackendError(f"{gateway}: network error ({exc.__class__.__name__}: {exc})") from exc
    if response.status_code == 429:
        raise BackendError(
            f"{gateway}: too many requests (HTTP 429)",
            throttled=True,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            code="429",
        )
    if response.status_code >= 500:
        raise BackendError(
            f"{gateway}: server error HTTP {response.status_code}",
            code=str(response.status_code),
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    return response


def international(number) -> str:
    """Gateways write international numbers without the "+" (447911123456); put it back so
    the number is read as international, not in SMS_DEFAULT_REGION. National numbers (leading 0)
    and sender names are left alone."""
    text = str(number or "").strip()
    return f"+{text}" if text.isdigit() and not text.startswith("0") and len(text) >= 8 else text


def without_nul(value):
    """Drop NUL characters from webhook data (nested dicts/lists too): PostgreSQL text and
    jsonb cannot store them, and a stray %00 in a callback must not become a 500."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(item) for item in value]
    return value


def gateway_option(backend, name: str, default=""):
    """A gateway setting, overridable per instance (a gateway account modelled as a SIM).

    ``gateway_option(twilio, "auth_token")`` reads the constructor option ``auth_token=``, else
    ``twilio_auth_token=``, else the setting ``TWILIO_AUTH_TOKEN``.
    """
    if name in backend.options:
        return backend.options[name]
    return backend.option(f"{backend.slug}_{name}", default)
