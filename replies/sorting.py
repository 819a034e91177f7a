"""Sorting incoming texts: the classifier, then the reply type's action (keywords come first, in keywords.pipeline).

``categorise`` is the one way a text gets a reply type (staff, classifier or keyword): it records
the label in the append-only history, then runs the type's action (opt-out or auto-reply).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from keywords import actions
from keywords.models import Dispatch, StandardWords
from replies import autoreply, classifier, training
from replies.models import Label, Reply, ReplyType, Source
from sms import consent
from sms.models import InboundMessage

logger = logging.getLogger(__name__)


def process(message: InboundMessage) -> Reply:
    """Deferred pipeline step (settings.SMS_INBOUND_DEFERRED_PIPELINE): sort one new text.

    A text the keyword router took (``message.routed_by``: STOP, START, HELP, a keyword) is
    not classified: it is filed under its keyword's reply type (STOP under "End", its opt-out
    already done), or left for review marked "keyword failed" when the handler gave up.
    """
    if message.routed_by:
        return file_routed(message)
    reply, created = Reply.objects.get_or_create(message=message)
    if not created:
        return reply  # already sorted: the pipeline never acts twice on one text
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


def file_routed(message: InboundMessage) -> Reply:
    """File a text the keyword router took (see ``process``); its actions already ran.

    One INSERT in the common case: the router's dispatch record is still cached on the message
    when the deferred step runs in the same process.
    """
    try:
        dispatch = message.keyword_dispatch
    except Dispatch.DoesNotExist:
        dispatch = None
    keyword = dispatch.keyword if dispatch else None
    name = (keyword.word if keyword else message.routed_by.partition(":")[0])[:20]
    now = timezone.now()
    fields = {"keyword": name, "source": Source.KEYWORD, "needs_review": False, "categorised_at": now}
    fields["note"] = f"Keyword {name.upper()}"
    if dispatch and dispatch.reply_id:
        fields.update(auto_reply_id=dispatch.reply_id, auto_replied_at=now)
    if dispatch and dispatch.state == Dispatch.State.FAILED:
        fields.update(needs_review=True, note=f"Keyword {name} failed: {dispatch.error}"[:300])
        slug = ""
    else:
        slug = "end" if message.routed_by == "stop" else (keyword.reply_type_slug if keyword else "")
    reply_type = ReplyType.objects.filter(slug=slug).first() if slug else None
    if reply_type is not None:  # (staff deleted "End"? the opt-out stands all the same)
        fields.update(reply_type=reply_type, confidence=1.0, note="")
    reply, created = Reply.objects.get_or_create(message=message, defaults=fields)
    if created and reply_type is not None:  # categorised without its action: the router ran it
        Label.objects.create(
            message_id=message.pk,
            reply_type=reply_type,
            type_name=reply_type.name,
            source=Source.KEYWORD,
            confidence=1.0,
            at=now,
        )
    return reply


_evidence = actions.evidence
_contact = actions.contact_of


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
            confirmation = StandardWords.load().opt_out_confirmation if recent else ""
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


#: The one opt-out of the project (ledger, queued texts refused, one confirmation).
opt_out = actions.opt_out


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
