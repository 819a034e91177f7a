"""Sorting incoming texts: keywords first, then the classifier, then the reply type's action.

``categorise`` is the one way a text gets a reply type (staff, classifier or keyword): it records
the label in the append-only history, then runs the type's action (opt-out or auto-reply).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from replies import autoreply, classifier, keywords, training
from replies.models import Label, Reply, ReplyType, Source
from sms import consent
from sms.api import send, send_opt_out_confirmation
from sms.models import ConsentEvent, Contact, InboundMessage

logger = logging.getLogger(__name__)


def process(message: InboundMessage) -> Reply:
    """Inbound pipeline step (settings.SMS_INBOUND_PIPELINE): sort one new text."""
    reply, created = Reply.objects.get_or_create(message=message)
    if not created:
        return reply  # already sorted: the pipeline never acts twice on one text
    keyword = keywords.match(message.content)
    if keyword is not None:
        handle_keyword(reply=reply, keyword=keyword)
        return reply
    try:
        with transaction.atomic():  # a database error here must not poison the caller's transaction
            apply_prediction(reply=reply, prediction=classifier.predict(message.content))
    except Exception:
        # The gateway would retry a failed webhook, but a stored text is never run through the
        # pipeline twice: better a text left for review than a lost one.
        logger.exception("Sorting inbound text %s failed; left for review", message.pk)
        _leave_for_review(reply, note="Sorting failed; see the logs")
    return reply


def threshold_for(reply_type: ReplyType) -> float:
    """An opt-out type has its own, higher bar: a wrong "End" silences a person."""
    if reply_type.action == ReplyType.Action.OPT_OUT:
        return settings.REPLIES_OPT_OUT_CONFIDENCE_THRESHOLD
    return settings.REPLIES_CONFIDENCE_THRESHOLD


def apply_prediction(*, reply: Reply, prediction: classifier.Prediction) -> bool:
    """Categorise ``reply`` as predicted if confident enough, else leave it for review with the
    suggestion. Returns True if it was categorised."""
    reply_type = ReplyType.objects.filter(slug=prediction.slug).first() if prediction.slug else None
    if reply_type is None:
        _leave_for_review(reply, note=prediction.reason or f"Predicted type {prediction.slug!r} no longer exists")
        return False
    reply.suggested_type = reply_type
    reply.confidence = prediction.confidence
    threshold = threshold_for(reply_type)
    if prediction.confidence < threshold:
        _leave_for_review(reply, note=f"Confidence {prediction.confidence:.0%} is below {threshold:.0%}")
        return False
    categorise(reply=reply, reply_type=reply_type, source=Source.CLASSIFIER, confidence=prediction.confidence)
    return True


def _leave_for_review(reply: Reply, *, note: str) -> None:
    reply.needs_review = True
    reply.note = note[:300]
    reply.save()


def handle_keyword(*, reply: Reply, keyword: keywords.Keyword) -> None:
    message = reply.message
    contact = _contact(message)
    if keyword == keywords.Keyword.STOP:
        end = ReplyType.objects.filter(slug="end").first()
        if end is None:  # staff deleted the seeded type: the opt-out stands all the same
            _mark_keyword(reply, keyword)
        else:
            categorise(
                reply=reply, reply_type=end, source=Source.KEYWORD, confidence=1.0, keyword=keyword, run_action=False
            )
        opt_out(
            contact=contact,
            reason=f"Texted {message.content.strip()[:50]!r}",
            source="keyword",
            evidence=_evidence(message),
        )
        return
    _mark_keyword(reply, keyword)
    if keyword == keywords.Keyword.START:
        if contact.is_opted_out:
            contact.opt_in(source="keyword", evidence=_evidence(message))
            if settings.REPLIES_OPT_IN_CONFIRMATION:
                send(contact.number, settings.REPLIES_OPT_IN_CONFIRMATION, tag="opt-in-confirmation", sim=message.sim)
    elif keyword == keywords.Keyword.HELP and claim_auto_reply(reply):
        _store_auto_reply(reply, autoreply.auto_reply(message=message, content=settings.REPLIES_HELP_TEXT))


def _mark_keyword(reply: Reply, keyword) -> None:
    reply.keyword = keyword
    reply.source = Source.KEYWORD
    reply.needs_review = False
    reply.categorised_at = timezone.now()
    reply.note = f"Keyword {keyword.upper()}"
    reply.save()


def _evidence(message: InboundMessage) -> str:
    when = f"{message.received_at:%Y-%m-%d %H:%M:%S %Z}"
    return f"Text {message.content!r} from {message.sender} received {when} ({message.backend} #{message.external_id})"


def _contact(message: InboundMessage) -> Contact:
    if message.contact_id:
        return message.contact
    contact, _ = Contact.objects.get_or_create(number=message.sender)
    InboundMessage.objects.filter(pk=message.pk).update(contact=contact)
    return contact


def categorise(
    *,
    reply: Reply,
    reply_type: ReplyType | None,
    source: str,
    confidence: float | None = None,
    by=None,
    keyword: str = "",
    run_action: bool = True,
) -> None:
    """Give ``reply`` its type, record the label, then run the type's action."""
    now = timezone.now()
    if reply_type is None or reply_type.action != ReplyType.Action.OPT_OUT:
        # A new label within the grace period takes back the staff "End" given to this text.
        consent.cancel_pending(message=reply.message, by=by)
    reply.reply_type = reply_type
    reply.source = source
    reply.confidence = confidence
    reply.keyword = keyword
    reply.needs_review = reply_type is None
    reply.categorised_by = by
    reply.categorised_at = now
    reply.note = ""
    with transaction.atomic():
        reply.save()
        if reply_type is not None:
            Label.objects.create(
                message_id=reply.message_id,
                reply_type=reply_type,
                type_name=reply_type.name,
                source=source,
                confidence=confidence,
                by=by,
                at=now,
            )
    if run_action and reply_type is not None:
        run_reply_action(reply=reply, by=by)
    if source == Source.STAFF:
        training.retrain_if_due()


def categorise_many(*, messages, reply_type: ReplyType, by) -> int:
    """Staff set ``reply_type`` on many texts at once (bulk action, keyboard shortcut)."""
    count = 0
    for message in messages:
        reply, _ = Reply.objects.get_or_create(message=message)
        categorise(reply=reply, reply_type=reply_type, source=Source.STAFF, by=by)
        count += 1
    return count


def run_reply_action(*, reply: Reply, by=None) -> None:
    reply_type = reply.reply_type
    message = reply.message
    # Sorting last week's texts opts out at once but must not text anyone about it now.
    recent = message.received_at >= timezone.now() - timedelta(hours=settings.REPLIES_AUTO_REPLY_MAX_AGE_HOURS)
    if reply_type.action == ReplyType.Action.OPT_OUT:
        who = f"staff ({by.get_username()})" if by else reply.source
        details = {
            "contact": _contact(message),
            "reason": f"Reply categorised as {reply_type.name} by {who}",
            "source": reply.source or "staff",
            "evidence": _evidence(message),
            "by": by,
        }
        grace = settings.REPLIES_OPT_OUT_GRACE_SECONDS
        if reply.source == Source.STAFF and grace > 0:
            # One key press must not silence a person: the label stands after the grace period.
            confirmation = settings.REPLIES_OPT_OUT_CONFIRMATION if recent else ""
            consent.schedule_opt_out(message=message, confirmation=confirmation, grace_seconds=grace, **details)
        else:
            opt_out(**details, confirm=recent, message=message)
        return
    if not reply_type.auto_reply_text or reply_type.is_bot or not recent:
        return
    if claim_auto_reply(reply):
        contact = _contact(message)
        content = reply_type.render_auto_reply(name=contact.name)
        _store_auto_reply(reply, autoreply.auto_reply(message=message, content=content))


def claim_auto_reply(reply: Reply) -> bool:
    """True for exactly one caller per incoming text (conditional UPDATE)."""
    now = timezone.now()
    won = Reply.objects.filter(pk=reply.pk, auto_replied_at__isnull=True).update(auto_replied_at=now)
    if won:
        reply.auto_replied_at = now
    return bool(won)


def _store_auto_reply(reply: Reply, outbound) -> None:
    if outbound is not None:
        Reply.objects.filter(pk=reply.pk).update(auto_reply=outbound)
        reply.auto_reply = outbound


def opt_out(
    *, contact: Contact, reason: str, source: str, evidence: str, by=None, confirm: bool = True, message=None
) -> bool:
    """Opt ``contact`` out (queued texts refused at once) and send the one confirmation.

    Returns False if the number was already opted out (then no second confirmation is sent).
    """
    newly = contact.opt_out(reason=reason, source=source, evidence=evidence, recorded_by=by, message=message)
    if newly and confirm and settings.REPLIES_OPT_OUT_CONFIRMATION:
        event = contact.consent_events.filter(kind=ConsentEvent.Kind.OPT_OUT).order_by("-at", "-pk").first()
        send_opt_out_confirmation(event=event, content=settings.REPLIES_OPT_OUT_CONFIRMATION)
    return newly


def undo_end(*, message: InboundMessage, by) -> bool:
    """Staff take back an "End" label within its grace period: no opt-out, the text goes back to
    review. The label history keeps both entries (it is append-only). False if too late."""
    if not consent.cancel_pending(message=message, by=by):
        return False
    Reply.objects.filter(message=message).update(
        reply_type=None, source="", needs_review=True, note=f"End undone by {by.get_username()}"[:300]
    )
    return True


def resort_pending(*, limit: int = 1000) -> int:
    """Run the classifier again on texts still waiting for review that no one has sorted (after
    a new model is trained). Returns how many it categorised."""
    pending = Reply.objects.filter(needs_review=True, source="").select_related("message")[:limit]
    count = 0
    for reply in pending:
        prediction = classifier.predict(reply.message.content)
        if prediction.slug is None:
            break  # no usable model: nothing more to do
        count += apply_prediction(reply=reply, prediction=prediction)
    return count
