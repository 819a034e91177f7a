"""Reading contacts: the data source's HTTP API and pasted lists (uploaded files: ``uploads``).

The source answers a JSON object whose keys are focus-group names and whose values are lists of
``[number, name]`` pairs, or lists of objects (``{"number": ..., "name": ..., any extra fields}``).
Both shapes may be mixed. A row of the wrong shape is reported (never fatal); an answer that is
not such an object fails the pull with a reason a person can read.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from campaigns.fanout import BadRow, SourceRow

NUMBER_KEYS = ("number", "phone", "mobile", "msisdn", "phone_number")


class SourceError(Exception):
    """The source could not be read; the message says why (time-out, HTTP status, bad JSON)."""


def session(*, retries: int | None = None) -> requests.Session:
    retries = settings.TEXTING_API_RETRIES if retries is None else retries
    s = requests.Session()
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=0.3,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),  # a POST (notification) is retried by the outbox instead
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    adapter = HTTPAdapter(max_retries=retry)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def auth(key: str) -> tuple[dict, dict]:
    """(headers, params) carrying the API key the configured way."""
    if not key:
        return {}, {}
    if settings.TEXTING_API_KEY_IN == "query":
        return {}, {"key": key}
    return {settings.TEXTING_API_KEY_HEADER: key}, {}


def fetch(*, url: str, key: str = "", timeout: float | None = None, retries: int | None = None) -> Any:
    """GET the source and return its decoded JSON, or raise SourceError."""
    timeout = settings.TEXTING_API_TIMEOUT_SECONDS if timeout is None else timeout
    headers, params = auth(key)
    headers["Accept"] = "application/json"
    try:
        response = session(retries=retries).get(url, headers=headers, params=params, timeout=timeout)
    except requests.Timeout:
        raise SourceError(f"The data source did not answer within {timeout:g} s ({url})") from None
    except requests.exceptions.RetryError as exc:
        raise SourceError(f"The data source kept failing: {exc}") from None
    except requests.RequestException as exc:
        if "timed out" in str(exc).lower():  # a read time-out after urllib3's retries
            raise SourceError(f"The data source did not answer within {timeout:g} s ({url})") from None
        raise SourceError(f"Could not reach the data source: {exc.__class__.__name__}: {exc}") from None
    if response.status_code != 200:
        raise SourceError(f"The data source answered HTTP {response.status_code}: {response.text[:200]!r}")
    try:
        return response.json()
    except ValueError as exc:
        raise SourceError(f"The data source's answer is not valid JSON ({exc}): {response.text[:120]!r}") from None


def _row(group: str, item: Any) -> SourceRow | BadRow:
    if isinstance(item, list | tuple):
        if not item or not isinstance(item[0], str | int) or isinstance(item[0], bool):
            return BadRow(group, json.dumps(item)[:50], "expected [number, name]")
        name = item[1] if len(item) > 1 and item[1] is not None else ""
        return SourceRow(group=group, number=str(item[0]), name=str(name))
    if isinstance(item, dict):
        key = next((k for k in NUMBER_KEYS if item.get(k) not in (None, "")), None)
        if key is None or isinstance(item[key], bool) or not isinstance(item[key], str | int):
            return BadRow(group, json.dumps(item)[:50], "object without a number")
        extra = {
            str(k): ("" if v is None else str(v))
            for k, v in item.items()
            if k not in (key, "name") and isinstance(v, str | int | float | type(None))
        }
        return SourceRow(group=group, number=str(item[key]), name=str(item.get("name") or ""), extra=extra)
    return BadRow(group, json.dumps(item)[:50], "expected [number, name] or an object")


def parse_payload(data: Any, *, default_group: str = "") -> tuple[list[SourceRow], list[BadRow]]:
    """Rows and unreadable rows of a source answer (or an uploaded JSON file)."""
    if isinstance(data, list) and default_group:
        data = {default_group: data}
    if not isinstance(data, dict):
        raise SourceError(f"Expected a JSON object of focus groups, got {type(data).__name__}")
    rows: list[SourceRow] = []
    bad: list[BadRow] = []
    for group, items in data.items():
        group = str(group).strip()
        if not isinstance(items, list):
            bad.append(BadRow(group, json.dumps(items)[:50], "the group's value is not a list"))
            continue
        for item in items:
            parsed = _row(group, item)
            (rows if isinstance(parsed, SourceRow) else bad).append(parsed)
    return rows, bad


def parse_pasted(text: str, *, group: str) -> tuple[list[SourceRow], list[BadRow]]:
    """One contact per line: a number, optionally followed by a comma/tab and a name."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        for sep in ("\t", ",", ";"):
            if sep in line:
                number, _, name = line.partition(sep)
                break
        else:
            number, name = line, ""
        rows.append(SourceRow(group=group, number=number.strip(), name=name.strip()))
    return rows, []
