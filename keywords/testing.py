"""Test helpers of the keywords app: numbers, keywords, and handlers whose side effects count."""

from __future__ import annotations

import itertools
import time

from keywords.handlers import Result
from keywords.models import Keyword, Number
from sms.api import send
from sms.backends import InboundData
from sms.receiving import store_inbound

_ids = itertools.count(1)

#: Side effects of the test handlers, by argument: what an outside system would have seen.
calls: list[tuple[int, str]] = []
#: Outcomes the scripted handler gives, in order (then "handled").
script: list[str] = []


def create_number(number: str = "567", **fields) -> Number:
    fields.setdefault("kind", Number.Kind.SHORT_CODE if len(number) <= 8 else Number.Kind.LONG_NUMBER)
    row = Number(number=number, **fields)
    row.full_clean()
    row.save()
    return row


def create_keyword(word: str = "ABC", *, numbers=(), **fields) -> Keyword:
    keyword = Keyword(word=word, **fields)
    keyword.full_clean()
    keyword.save()
    if numbers:
        keyword.numbers.set(numbers)
    return keyword


def receive(content: str, *, to: str = "567", sender: str = "+447911123001", external_id: str = "", backend="locmem"):
    data = InboundData(sender=sender, recipient=to, content=content, external_id=external_id or f"kw-{next(_ids)}")
    message, _ = store_inbound(backend, data)
    return message


# --- Handlers (named by dotted path on keywords in the tests) ---------------------------------


def reward(message, argument):
    """Books a reward (a text queued through sms.api) and records the side effect."""
    calls.append((message.pk, argument))
    send(message.sender, f"Reward {argument} booked", tag="reward")
    return Result.HANDLED


def scripted(message, argument):
    """Does its work, then answers what ``script`` says next (its work is rolled back on a retry)."""
    send(message.sender, f"Reward {argument} booked", tag="reward")
    outcome = script.pop(0) if script else "handled"
    if outcome == "raise":
        raise RuntimeError("the shop is down")
    if outcome == "retry":
        return Result.RETRY_LATER
    calls.append((message.pk, argument))
    return Result.HANDLED


def slow(message, argument):
    """Runs for ever unless interrupted (short sleeps: the deadline lands between them)."""
    send(message.sender, "never sent", tag="reward")
    for _ in range(400):
        time.sleep(0.025)
    calls.append((message.pk, argument))
    return Result.HANDLED


def reset() -> None:
    calls.clear()
    script.clear()


def sleepy(message, argument):
    """Takes a moment (so two deliveries overlap), then answers what ``script`` says next."""
    time.sleep(0.3)
    outcome = script.pop(0) if script else "handled"
    if outcome == "retry":
        return Result.RETRY_LATER
    calls.append((message.pk, argument))
    send(message.sender, f"Reward {argument} booked", tag="reward")
    return Result.HANDLED
