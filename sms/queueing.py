"""Putting outbound texts in the queue: one or many, with the checks every path shares.

Every text, whatever created it (``sms.api.send``, a campaign fan-out, a follow-up, an
auto-reply), goes through ``queue_messages``: the number is normalised to E.164, the content
transliterated when settings ask, encoding and segments computed, and the organisation-wide
opt-out list checked. A refused text is still stored, with its reason, so staff can see why.

A text whose content holds ``{link}`` is handed, just before it is stored, to the link hook
named by ``SMS_LINK_HOOK`` (the links app's by default): the core only knows its shape
(``LinkHook`` below). The hook swaps the placeholder for a per-recipient URL, or refuses the
text with the reason: a text never leaves with a broken link.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from sms.bulk import create_rows, insert_rows
from sms.encoding import segment_info, to_gsm7
from sms.models import ConsentEvent, Contact, OutboundMessage, State, StatusChange
from sms.phone import InvalidNumber, normalise
from sms.search import fold

#: Where a text gets its per-recipient link; ``extra_data["link"]`` names the target.
LINK_PLACEHOLDER = "{link}"


class LinkHook(Protocol):
    """What ``SMS_LINK_HOOK`` names (an object, e.g. ``links.hook.link_hook``)."""

    def __call__(self, messages: list[OutboundMessage]) -> Callable[[], None] | None:
        """Called inside the batch's transaction with the built, unsaved WAITING texts whose
        content holds ``{link}``: replace the placeholder (and recount segments) or refuse the
        text (``state``/``error``). The callable returned, if any, runs in the same transaction
        once the rows are stored (they have their primary keys then)."""

    def problem(self, target: object) -> str:
        """Why a text with ``extra_data["link"] = target`` cannot get a link now ("" if it can)."""

    def sample_url(self) -> str:
        """A URL exactly as long as the real ones, to count segments before sending."""


@cache
def _hook(path: str) -> LinkHook:
    return import_string(path)


def link_hook() -> LinkHook | None:
    path = getattr(settings, "SMS_LINK_HOOK", "")
    return _hook(path) if path else None


def link_problem(target: object) -> str:
    """Why a ``{link}`` text with this target would be refused ("" if it would get its link)."""
    hook = link_hook()
    return hook.problem(target) if hook else "No link hook is configured (SMS_LINK_HOOK is empty)"


def sample_link() -> str:
    """A stand-in for ``{link}`` of the real length ("" when links cannot be made)."""
    hook = link_hook()
    return hook.sample_url() if hook else ""


def build_message(
    recipient: str, content: str, *, region: str | None = None, name: str = "", **fields
) -> OutboundMessage:
    """An unsaved OutboundMessage, WAITING, or REFUSED with the reason if the number is invalid."""
    if not settings.SMS_USE_ACCENT:
        content = to_gsm7(content)
    info = segment_info(content)
    message = OutboundMessage(content=content, encoding=info.encoding, segments=info.segments, **fields)
    try:
        message.recipient = normalise(recipient, region)
    except InvalidNumber as exc:
        message.recipient = str(recipient)[:20]
        message.state = State.REFUSED
        message.error = f"Invalid number: {exc}"
    message._contact_name = name
    return message


def queue_messages(messages: list[OutboundMessage], *, batch_size: int = 2000) -> list[OutboundMessage]:
    """Store built messages in bulk: a handful of queries per batch, never one per row."""
    now = timezone.now()
    stored: list[OutboundMessage] = []
    for start in range(0, len(messages), batch_size):
        chunk = messages[start : start + batch_size]
        with transaction.atomic():
            contacts = _contacts_for(chunk, now)
            for message in chunk:
                message.created_at = message.changed_at = now
                contact = contacts.get(message.recipient)
                if contact is not None:
                    message.contact_id = contact[0]
                if message.state == State.REFUSED:
                    pass  # refused already (an invalid number): keep the first, real reason
                elif message.confirms_opt_out_id is not None and not _confirms(message, contact):
                    message.state = State.REFUSED
                    message.error = "Not a valid opt-out confirmation for this number"
                elif message.confirms_opt_out_id is not None:
                    pass  # the one text an opted-out number may get: the confirmation of its opt-out
                elif message.state == State.WAITING and contact is not None and contact[1] is not None:
                    opt_out_reason = contact[2]
                    message.state = State.REFUSED
                    message.error = "Recipient opted out" + (f": {opt_out_reason}" if opt_out_reason else "")
            after_store = _attach_links(chunk)
            created = create_rows(chunk)
            if after_store is not None:
                after_store()
            insert_rows([StatusChange(message=m, state=m.state, at=now, note=m.error[:500]) for m in created])
        stored.extend(created)
    if any(m.state == State.WAITING for m in stored):
        from sms.tasks import kick_dispatcher  # lazily: sms.tasks loads celery and the dispatcher

        kick_dispatcher()
    return stored


def _attach_links(messages: list[OutboundMessage]) -> Callable[[], None] | None:
    wanting = [m for m in messages if m.state == State.WAITING and LINK_PLACEHOLDER in m.content]
    if not wanting:
        return None
    hook = link_hook()
    if hook is None:
        for message in wanting:
            message.state = State.REFUSED
            message.error = "The text holds {link} but no link hook is configured (SMS_LINK_HOOK)"
        return None
    return hook(wanting)


def _confirms(message: OutboundMessage, contact: tuple | None) -> bool:
    """An opt-out confirmation is valid only for an opt-out event of the same number that is
    still in force (the contact's latest consent event)."""
    if message.state != State.WAITING or contact is None or contact[1] is None:
        return False
    latest = ConsentEvent.objects.filter(number=message.recipient).order_by("-at", "-pk").first()
    return latest is not None and latest.pk == message.confirms_opt_out_id and latest.kind == ConsentEvent.Kind.OPT_OUT


def _contacts_for(messages: Iterable[OutboundMessage], now) -> dict[str, tuple[int, object, str]]:
    """number -> (contact id, opted_out_at, opt_out_reason), creating missing contacts.

    Plain tuples rather than model instances: a 100,000-text fan-out builds no Contact objects.
    """
    wanted = {m.recipient: getattr(m, "_contact_name", "") for m in messages if m.state == State.WAITING}
    if not wanted:
        return {}
    insert_rows(
        [
            Contact(number=number, name=name[:200], search_name=fold(name)[:200], created_at=now)
            for number, name in wanted.items()
        ],
        ignore_conflicts=True,
    )
    rows = Contact.objects.filter(number__in=list(wanted)).values_list("number", "pk", "opted_out_at", "opt_out_reason")
    return {number: (pk, opted_out_at, reason) for number, pk, opted_out_at, reason in rows}
