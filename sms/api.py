"""The Python API other Django apps call: ``send`` and ``send_template`` (pymess's meanings).

Both store the text (queued, or refused with the reason) and return the OutboundMessage. With
``send_immediately=True`` the text is handed to the backend before the call returns; otherwise
the dispatcher (``send_queued`` / the task engine) sends it.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import translation

from sms.dispatch import send_message_now
from sms.models import ConsentEvent, OutboundMessage, RelatedObject, State
from sms.queueing import build_message, queue_messages


class TemplateNotFound(LookupError):
    pass


class TemplateInactive(RuntimeError):
    pass


def send(
    recipient: str, content: str, related_objects=None, tag: str | None = None, send_immediately: bool = False, **extra
) -> OutboundMessage:
    """Queue one text to ``recipient``.

    ``related_objects``: model instances the text is about (kept as generic relations).
    ``**extra``: other OutboundMessage fields (sender, template, template_slug, extra_data,
    extra_sender_data, campaign, retry...).
    """
    message = build_message(recipient, content, tag=tag or "", **extra)
    (message,) = queue_messages([message])
    if related_objects:
        _relate(message, related_objects)
    if send_immediately and message.state == State.WAITING:
        message = send_message_now(message)
    return message


def send_template(
    recipient: str,
    slug: str,
    context_data: dict | None = None,
    locale: str | None = None,
    related_objects=None,
    tag: str | None = None,
    send_immediately: bool = False,
    link: dict | None = None,
) -> OutboundMessage:
    """Render the active template ``slug`` with ``context_data`` (in ``locale``) and send it.

    ``{link}`` in the template becomes the recipient's own link to ``link`` (``{"url": ...}``
    or ``{"view": "dotted.path"}``), by default the template's ``link_target()``.
    """
    model = apps.get_model(settings.SMS_TEMPLATE_MODEL)
    try:
        template = model.objects.get(slug=slug)
    except model.DoesNotExist:
        raise TemplateNotFound(f"No SMS template with slug {slug!r}") from None
    if not template.can_send(recipient, context_data or {}):
        raise TemplateInactive(f"SMS template {slug!r} cannot be sent (inactive or refused by can_send)")
    with translation.override(locale or translation.get_language()):
        content = template.render(context_data or {})
    link = link or template.link_target()
    return send(
        recipient,
        content,
        related_objects=related_objects,
        tag=tag,
        send_immediately=send_immediately,
        template=template,
        template_slug=slug,
        extra_data={"link": link} if link else {},
    )


def _relate(message: OutboundMessage, objects) -> None:
    rows = []
    for obj in objects:
        pk = obj.pk
        rows.append(
            RelatedObject(
                message=message,
                content_type=ContentType.objects.get_for_model(obj),
                object_id=str(pk),
                object_id_int=pk if isinstance(pk, int) else None,
            )
        )
    RelatedObject.objects.bulk_create(rows)


def send_opt_out_confirmation(*, event: ConsentEvent, content: str, send_immediately: bool = False):
    """Queue the one confirmation of opt-out ``event`` to its number; None if it already has one.

    This is the only way a text reaches an opted-out number: ``confirms_opt_out`` is unique per
    event and is checked again when queued (the event must be the number's latest consent event)
    and when dispatched. Keep ``content`` free of marketing.
    """
    if event.kind != ConsentEvent.Kind.OPT_OUT or OutboundMessage.objects.filter(confirms_opt_out=event).exists():
        return None
    try:
        with transaction.atomic():
            message = send(event.number, content, tag="opt-out-confirmation", confirms_opt_out=event)
    except IntegrityError:  # another worker confirmed the same event at the same moment
        return None
    if send_immediately and message.state == State.WAITING:
        message = send_message_now(message)
    return message
