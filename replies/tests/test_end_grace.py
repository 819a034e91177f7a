"""A staff "End" label stands only after a grace period with an Undo; a classifier's opt-out
can be corrected with a ledger event; a customer's STOP stays immediate and final."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from replies.models import Label, Reply, ReplyType, Source
from replies.sorting import categorise
from replies.testing import receive
from sms import consent
from sms.dispatch import dispatch
from sms.models import ConsentEvent, Contact, OutboundMessage, PendingOptOut, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db

NUMBER = "+447911123001"


def end():
    return ReplyType.objects.get(slug="end")


def thanks():
    return ReplyType.objects.get(slug="thanks")


def label_end(message, user):
    categorise(reply=message.reply, reply_type=end(), source=Source.STAFF, by=user)


def past_grace(settings):
    PendingOptOut.objects.update(due_at=timezone.now() - timedelta(seconds=1))


def test_staff_end_waits_for_the_grace_period_and_holds_texts_meanwhile(staff_user, outbox, settings):
    message = receive("ok thx 👍", sender=NUMBER)
    queued = create_message(NUMBER, "Spring sale")
    label_end(message, staff_user)
    contact = Contact.objects.get(number=NUMBER)
    assert not contact.is_opted_out and not ConsentEvent.objects.exists()
    pending = PendingOptOut.objects.get()
    assert pending.due_at - timezone.now() == pytest.approx(timedelta(seconds=120), abs=timedelta(seconds=5))
    assert dispatch().claimed == 0 and outbox == []  # held, not sent, not refused
    queued.refresh_from_db()
    assert queued.state == State.WAITING


def test_the_opt_out_stands_after_the_grace_period_and_only_then_the_confirmation_leaves(staff_user, outbox, settings):
    message = receive("ok thx 👍", sender=NUMBER)
    queued = create_message(NUMBER, "Spring sale")
    label_end(message, staff_user)
    assert not OutboundMessage.objects.filter(tag="opt-out-confirmation").exists()
    past_grace(settings)
    call_command("send_queued")
    contact = Contact.objects.get(number=NUMBER)
    assert contact.is_opted_out
    event = ConsentEvent.objects.get(number=NUMBER)
    assert event.recorded_by == staff_user and event.message == message and event.source == "staff"
    queued.refresh_from_db()
    assert queued.state == State.REFUSED
    assert [m["body"] for m in outbox] == [settings.REPLIES_OPT_OUT_CONFIRMATION]
    assert PendingOptOut.objects.get().status == PendingOptOut.Status.APPLIED


def test_a_due_opt_out_counts_at_dispatch_time_before_the_periodic_step(staff_user, outbox, settings):
    message = receive("ok thx", sender=NUMBER)
    label_end(message, staff_user)
    past_grace(settings)
    assert Contact.objects.opted_out_numbers([NUMBER]) == {NUMBER}
    # A text claimed before the label existed (a race) reaches the dispatch-time check.
    promo = create_message(NUMBER, "Promo")
    from sms.dispatch import claim_batch, send_claimed

    PendingOptOut.objects.update(status=PendingOptOut.Status.APPLIED)  # let the claim take it...
    claimed = claim_batch(size=10)
    PendingOptOut.objects.update(status=PendingOptOut.Status.PENDING)  # ...then the check sees it due
    send_claimed(claimed)
    promo.refresh_from_db()
    assert promo.state == State.REFUSED and outbox == []


def test_relabelling_within_the_grace_period_cancels_the_opt_out_and_the_thanks_reply_goes(
    staff_user, outbox, settings
):
    ReplyType.objects.filter(slug="thanks").update(auto_reply_text="You're welcome!")
    message = receive("ok thx 👍", sender=NUMBER)
    label_end(message, staff_user)
    categorise(reply=Reply.objects.get(pk=message.pk), reply_type=thanks(), source=Source.STAFF, by=staff_user)
    past_grace(settings)
    call_command("send_queued")
    assert not Contact.objects.get(number=NUMBER).is_opted_out
    assert not ConsentEvent.objects.exists()
    assert [m["body"] for m in outbox] == ["You're welcome!"]
    assert PendingOptOut.objects.get().status == PendingOptOut.Status.CANCELLED
    assert list(Label.objects.order_by("at", "pk").values_list("type_name", flat=True)) == ["End", "Thanks"]


def test_undo_puts_the_text_back_in_review_and_nothing_is_opted_out(staff_client, staff_user, outbox, settings):
    message = receive("ok thx 👍", sender=NUMBER)
    label_end(message, staff_user)
    page = staff_client.get(reverse("replies:index"))
    assert b"opts out at" in page.content and b"Undo" in page.content
    response = staff_client.post(reverse("replies:undo_end", args=[message.pk]), {"next": "/replies/"}, follow=True)
    assert "is not opted out" in response.content.decode()
    reply = Reply.objects.get(pk=message.pk)
    assert reply.needs_review and reply.reply_type is None and "undone by staff" in reply.note
    past_grace(settings)
    call_command("send_queued")
    assert not Contact.objects.get(number=NUMBER).is_opted_out and outbox == []


def test_undo_after_the_opt_out_stands_says_it_is_too_late(staff_client, staff_user, settings):
    message = receive("ok thx", sender=NUMBER)
    label_end(message, staff_user)
    past_grace(settings)
    consent.apply_due_opt_outs()
    response = staff_client.post(reverse("replies:undo_end", args=[message.pk]), follow=True)
    assert "Too late to undo" in response.content.decode()
    assert Contact.objects.get(number=NUMBER).is_opted_out


def test_a_customer_stop_is_immediate_and_cannot_be_corrected(staff_client, outbox):
    receive("STOP", sender=NUMBER)
    contact = Contact.objects.get(number=NUMBER)
    assert contact.is_opted_out and not PendingOptOut.objects.exists()
    event = ConsentEvent.objects.get(number=NUMBER)
    assert not consent.correctable(event)
    page = staff_client.get(reverse("replies:conversation", args=[contact.pk]))
    assert b"Not an opt-out" not in page.content
    staff_client.post(reverse("replies:not_opt_out", args=[event.pk]), {"reason": "try"})
    assert Contact.objects.get(number=NUMBER).is_opted_out
    assert ConsentEvent.objects.filter(kind=ConsentEvent.Kind.CORRECTION).count() == 0


def classifier_opt_out():
    message = receive("ok thx 👍", sender=NUMBER)
    categorise(reply=Reply.objects.get(pk=message.pk), reply_type=end(), source=Source.CLASSIFIER, confidence=0.93)
    return message


def test_a_classifier_opt_out_is_immediate(outbox):
    classifier_opt_out()
    assert Contact.objects.get(number=NUMBER).is_opted_out and not PendingOptOut.objects.exists()


def test_staff_mark_a_classifier_opt_out_not_an_opt_out_after_a_confirmation(staff_client, staff_user, outbox):
    message = classifier_opt_out()
    contact = Contact.objects.get(number=NUMBER)
    event = ConsentEvent.objects.get(number=NUMBER)
    page = staff_client.get(reverse("replies:conversation", args=[contact.pk]))
    assert reverse("replies:not_opt_out", args=[event.pk]).encode() in page.content
    confirm = staff_client.get(reverse("replies:not_opt_out", args=[event.pk]))
    assert "ok thx 👍" in confirm.content.decode() and b"Confirm: not an opt-out" in confirm.content
    assert Contact.objects.get(number=NUMBER).is_opted_out  # the confirmation page changes nothing
    assert staff_client.post(reverse("replies:not_opt_out", args=[event.pk]), {"reason": ""}).status_code == 200
    response = staff_client.post(
        reverse("replies:not_opt_out", args=[event.pk]), {"reason": "A thank-you, not a stop"}, follow=True
    )
    assert "not an opt-out" in response.content.decode()
    assert not Contact.objects.get(number=NUMBER).is_opted_out
    correction = ConsentEvent.objects.get(kind=ConsentEvent.Kind.CORRECTION)
    assert correction.corrects == event and correction.message == message and correction.recorded_by == staff_user
    assert "ok thx 👍" in correction.evidence and "A thank-you, not a stop" in correction.evidence
    assert "staff" in correction.evidence
    assert ConsentEvent.objects.count() == 2  # append-only: the opt-out is still there
    # Its confirmation was waiting: it must not tell them they are unsubscribed now.
    dispatch()
    assert outbox == []
    assert OutboundMessage.objects.get(tag="opt-out-confirmation").state == State.REFUSED
    assert not consent.correctable(event)  # corrected once


def test_a_later_stop_makes_the_classifier_opt_out_uncorrectable(outbox):
    classifier_opt_out()
    event = ConsentEvent.objects.get(number=NUMBER)
    receive("STOP", sender=NUMBER)
    assert not consent.correctable(event)
    with pytest.raises(ValueError):
        consent.correct_opt_out(event=event, by=None, reason="x")
