"""The inbound pipeline step: keywords first, then the classifier, then the type's action."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from replies.classifier import train
from replies.models import ClassifierModel, Label, Reply, ReplyType, Source
from replies.testing import label_texts, receive
from sms.models import ConsentEvent, Contact, OutboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db


def test_pipeline_is_configured_after_link_conversation(settings):
    assert settings.SMS_INBOUND_PIPELINE[0] == "sms.pipeline.link_conversation"
    # Keywords (an opt-out) inline, in the webhook's request; the classifier after the commit.
    assert "replies.pipeline.keywords" in settings.SMS_INBOUND_PIPELINE
    assert "replies.pipeline.process" in settings.SMS_INBOUND_DEFERRED_PIPELINE


def test_stop_opts_out_categorises_end_and_sends_one_confirmation(outbox):
    campaign_text = create_message("+447911123001", "Big sale!")
    message = receive("Stop!")
    reply = Reply.objects.get(message=message)
    assert (reply.reply_type.slug, reply.source, reply.keyword, reply.needs_review) == ("end", "keyword", "stop", False)
    contact = Contact.objects.get(number="+447911123001")
    assert contact.is_opted_out
    event = contact.consent_events.get()
    assert event.kind == ConsentEvent.Kind.OPT_OUT and event.source == "keyword" and "Stop!" in event.evidence
    campaign_text.refresh_from_db()
    assert campaign_text.state == State.REFUSED
    confirmation = OutboundMessage.objects.get(confirms_opt_out=event)
    assert confirmation.state == State.WAITING
    assert Label.objects.get(message=message).source == Source.KEYWORD


def test_second_stop_sends_no_second_confirmation():
    receive("STOP")
    receive("stop")
    assert OutboundMessage.objects.filter(tag="opt-out-confirmation").count() == 1
    assert ConsentEvent.objects.filter(kind="opt_out").count() == 2  # both texts are in the ledger


def test_start_opts_back_in_with_the_text_as_evidence():
    receive("STOP")
    receive("start")
    contact = Contact.objects.get(number="+447911123001")
    assert not contact.is_opted_out
    event = contact.consent_events.first()
    assert event.kind == "opt_in" and "'start'" in event.evidence
    assert OutboundMessage.objects.filter(tag="opt-in-confirmation", state=State.WAITING).count() == 1


def test_start_from_a_subscribed_number_records_nothing():
    receive("START")
    assert not ConsentEvent.objects.exists()


def test_help_gets_the_configured_reply_once(settings):
    settings.REPLIES_HELP_TEXT = "Call 0800 000 000 for help."
    message = receive("HELP")
    reply = Reply.objects.get(message=message)
    assert reply.keyword == "help" and reply.auto_reply.content == "Call 0800 000 000 for help."


def test_without_a_model_texts_wait_for_review_and_say_why():
    message = receive("what time does it start?")
    reply = Reply.objects.get(message=message)
    assert reply.needs_review and reply.reply_type is None
    assert "No classifier" in reply.note


_first_training: dict = {}


@pytest.fixture
def trained(settings):
    """A ready model trained on 40 staff labels per type. Training on the same labels gives the
    same model, so the first one (its file and its row) is reused: a fit costs seconds."""
    label_texts(40)
    if not _first_training:
        row = train(algorithms=("logreg",), folds=3)
        assert row.status == "ready"
        fields = {f.name: getattr(row, f.name) for f in ClassifierModel._meta.concrete_fields if not f.primary_key}
        _first_training.update(fields=fields, model_file=(Path(settings.MEDIA_ROOT) / row.path).read_bytes())
        return row
    path = Path(settings.MEDIA_ROOT) / _first_training["fields"]["path"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_first_training["model_file"])
    return ClassifierModel.objects.create(**_first_training["fields"])


def test_confident_prediction_categorises(trained, settings):
    settings.REPLIES_CONFIDENCE_THRESHOLD = 0.5
    reply = Reply.objects.get(message=receive("thank you so much, see you then"))
    assert reply.reply_type.slug == "thanks" and reply.source == Source.CLASSIFIER and not reply.needs_review
    assert reply.confidence >= 0.5


def test_below_threshold_keeps_review_with_suggestion(trained, settings):
    settings.REPLIES_CONFIDENCE_THRESHOLD = 1.01
    reply = Reply.objects.get(message=receive("thank you so much"))
    assert reply.needs_review and reply.reply_type is None
    assert reply.suggested_type.slug == "thanks" and "below" in reply.note


def test_end_prediction_above_its_threshold_opts_out(trained, settings):
    settings.REPLIES_OPT_OUT_CONFIDENCE_THRESHOLD = 0.3
    reply = Reply.objects.get(message=receive("please remove my number from your list"))
    assert reply.reply_type.slug == "end" and reply.source == Source.CLASSIFIER
    assert Contact.objects.get(number="+447911123001").is_opted_out
    assert ConsentEvent.objects.get().source == "classifier"


def test_end_prediction_below_its_own_threshold_only_suggests(trained, settings):
    settings.REPLIES_CONFIDENCE_THRESHOLD = 0.0
    settings.REPLIES_OPT_OUT_CONFIDENCE_THRESHOLD = 1.01
    reply = Reply.objects.get(message=receive("please remove my number from your list"))
    assert reply.needs_review and reply.suggested_type.slug == "end"
    assert not Contact.objects.get(number="+447911123001").is_opted_out


def test_auto_reply_fires_once_and_fills_name(trained, settings):
    settings.REPLIES_CONFIDENCE_THRESHOLD = 0.0
    ReplyType.objects.filter(slug="thanks").update(auto_reply_text="{greeting} {name}, glad to help!")
    Contact.objects.create(number="+447911123001", name="Monica")
    message = receive("thank you so much")
    reply = Reply.objects.get(message=message)
    assert reply.auto_reply is not None and "Monica, glad to help!" in reply.auto_reply.content
    # Staff re-labelling the same text as Thanks does not answer it again.
    from replies.sorting import categorise

    categorise(reply=reply, reply_type=ReplyType.objects.get(slug="thanks"), source=Source.STAFF)
    assert OutboundMessage.objects.filter(tag="auto-reply").count() == 1


def test_never_auto_replies_to_bots(trained, settings):
    settings.REPLIES_CONFIDENCE_THRESHOLD = 0.0
    ReplyType.objects.filter(slug="bot").update(auto_reply_text="Hello robot")
    reply = Reply.objects.get(message=receive("Auto-reply: I am out of the office until 3/4 with limited access."))
    assert reply.reply_type.slug == "bot" and reply.auto_reply is None
    assert not OutboundMessage.objects.filter(tag="auto-reply").exists()


def test_daily_auto_reply_limit_per_number(trained, settings):
    settings.REPLIES_CONFIDENCE_THRESHOLD = 0.0
    settings.REPLIES_AUTO_REPLY_DAILY_LIMIT = 2
    ReplyType.objects.filter(slug="thanks").update(auto_reply_text="You're welcome")
    for _ in range(5):
        receive("thank you so much")
    receive("thank you so much", sender="+447911123999")
    assert OutboundMessage.objects.filter(tag="auto-reply", recipient="+447911123001").count() == 2
    assert OutboundMessage.objects.filter(tag="auto-reply", recipient="+447911123999").count() == 1


def test_staff_categorising_an_old_text_does_not_auto_reply(settings):
    from replies.sorting import categorise

    ReplyType.objects.filter(slug="thanks").update(auto_reply_text="You're welcome")
    message = receive("thx", received_at=timezone.now() - timedelta(days=3))
    categorise(reply=message.reply, reply_type=ReplyType.objects.get(slug="thanks"), source=Source.STAFF)
    assert not OutboundMessage.objects.filter(tag="auto-reply").exists()


def test_duplicate_webhook_is_sorted_once():
    from sms.backends import InboundData
    from sms.receiving import store_inbound

    data = InboundData(sender="+447911123001", content="STOP", external_id="dup-1")
    store_inbound("locmem", data)
    store_inbound("locmem", data)
    assert Reply.objects.count() == 1 and ConsentEvent.objects.count() == 1


def test_resort_pending_sorts_waiting_texts_with_a_new_model(settings):
    from replies.sorting import resort_pending

    settings.REPLIES_CONFIDENCE_THRESHOLD = 0.0
    waiting = receive("thank you so much")
    assert Reply.objects.get(message=waiting).needs_review
    label_texts(20)
    train(algorithms=("logreg",), folds=3)
    assert resort_pending() == 1
    reply = Reply.objects.get(message=waiting)
    assert reply.reply_type.slug == "thanks" and reply.source == "classifier"


def test_a_failing_action_leaves_the_text_for_review_not_a_500(settings):
    # An auto-reply text with a broken placeholder must not lose the inbound text.
    label_texts(20)
    train(algorithms=("logreg",), folds=3)
    settings.REPLIES_CONFIDENCE_THRESHOLD = 0.0
    ReplyType.objects.filter(slug="thanks").update(auto_reply_text="Hi {name!x}")
    message = receive("thank you so much")
    reply = Reply.objects.get(message=message)
    assert reply.needs_review and "Sorting failed" in reply.note


def test_stop_still_opts_out_when_the_end_type_was_deleted():
    ReplyType.objects.filter(slug="end").delete()
    reply = Reply.objects.get(message=receive("STOP"))
    assert reply.keyword == "stop" and not reply.needs_review and reply.reply_type is None
    assert Contact.objects.get(number="+447911123001").is_opted_out


def test_deleting_a_type_sends_its_texts_back_to_review():
    from replies.sorting import categorise

    misc = ReplyType.objects.get(slug="misc")
    message = receive("where is it?")
    categorise(reply=message.reply, reply_type=misc, source=Source.STAFF)
    misc.delete()
    reply = Reply.objects.get(message=message)
    assert reply.needs_review and reply.reply_type is None
    assert Label.objects.get(message=message).type_name == "Misc"
