"""The routing step through the real inbound pipeline: order, handlers, replies, retries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from keywords import testing
from keywords.models import Dispatch, StandardWords
from keywords.signals import keyword_received
from keywords.testing import create_keyword, create_number, receive
from replies.models import Reply
from sms.models import Contact, OutboundMessage, PipelineState
from sms.receiving import recover_inbound
from sms.testing import create_message

pytestmark = pytest.mark.django_db

REWARD = "keywords.testing.reward"
SCRIPTED = "keywords.testing.scripted"


def test_a_keyword_calls_its_handler_with_the_argument_and_files_the_text():
    create_number("567")
    keyword = create_keyword("ABC", handler=REWARD, reply_type_slug="thanks")
    message = receive("ABC.UNICORN", to="567")
    assert testing.calls == [(message.pk, "UNICORN")]
    message.refresh_from_db()
    assert message.routed_by == "keyword:ABC" and message.pipeline_state == PipelineState.DONE
    dispatch = Dispatch.objects.get(message=message)
    assert (dispatch.keyword, dispatch.state, dispatch.argument) == (keyword, "done", "UNICORN")
    reply = Reply.objects.get(message=message)  # the deferred replies step filed it, unclassified
    assert (reply.reply_type.slug, reply.source, reply.keyword, reply.needs_review) == (
        "thanks",
        "keyword",
        "ABC",
        False,
    )
    assert OutboundMessage.objects.get(tag="reward").content == "Reward UNICORN booked"


def test_the_reply_template_is_sent_with_the_link_target_for_the_links_app():
    create_keyword("JOIN", reply_template="Hi {name}, finish at {link} ({argument})", link_url="https://shop.example/j")
    Contact.objects.create(number="+447911123001", name="Zoë")
    message = receive("join gold")
    dispatch = Dispatch.objects.get(message=message)
    assert dispatch.reply.extra_data["link"]["url"] == "https://shop.example/j"
    assert dispatch.reply.content.startswith("Hi Zoë, finish at ") and dispatch.reply.content.endswith("(gold)")
    assert Reply.objects.get(message=message).auto_reply == dispatch.reply


def test_stop_comes_first_with_one_confirmation_and_is_filed_under_end(outbox):
    campaign_text = create_message("+447911123001", "Big sale!")
    message = receive("Stop!")
    assert Contact.objects.get(number="+447911123001").is_opted_out
    campaign_text.refresh_from_db()
    assert campaign_text.state == "refused"
    receive("STOP")
    assert OutboundMessage.objects.filter(tag="opt-out-confirmation").count() == 1
    assert Reply.objects.get(message=message).reply_type.slug == "end"
    assert Dispatch.objects.filter(routed_by="stop").count() == 2


def test_standard_words_edited_in_the_dashboard_replace_the_environment_s():
    StandardWords(
        opt_out_words="ARRET, STOP",
        opt_in_words="START",
        help_words="AIDE",
        help_text="Appelez le 0800.",
        opt_out_confirmation="",
        opt_in_confirmation="",
    ).save()
    receive("aide")
    assert OutboundMessage.objects.get(tag="auto-reply").content == "Appelez le 0800."
    assert receive("help").routed_by == ""  # no longer a HELP word
    receive("arret")
    assert Contact.objects.get(number="+447911123001").is_opted_out
    assert not OutboundMessage.objects.filter(tag="opt-out-confirmation").exists()  # confirmation switched off


def test_a_text_to_a_number_not_ours_is_left_to_the_replies_pipeline_but_stop_still_works():
    create_number("567")
    create_keyword("ABC", handler=REWARD)
    message = receive("ABC.X", to="999")
    assert testing.calls == [] and message.routed_by == ""
    assert Reply.objects.get(message=message).needs_review  # to the inbox, classified
    receive("STOP", to="999")
    assert Contact.objects.get(number="+447911123001").is_opted_out


def test_with_no_numbers_every_text_is_addressed_to_us():
    create_keyword("ABC", handler=REWARD)
    receive("ABC X", to="")
    assert testing.calls[0][1] == "X"


def test_a_keyword_listens_only_on_its_numbers_and_the_catch_all_takes_the_rest():
    short, other = create_number("567"), create_number("890")
    catch_all = create_keyword("SERVICE", handler=REWARD)
    create_keyword("ABC", numbers=[other], reply_template="abc")
    short.catch_all = catch_all
    short.save()
    message = receive("ABC.UNICORN", to="567")
    assert message.routed_by == "keyword:SERVICE" and testing.calls == [(message.pk, "ABC.UNICORN")]
    assert receive("ABC.UNICORN", to="890").routed_by == "keyword:ABC"
    assert receive("anything at all", to="567").routed_by == "keyword:SERVICE"
    assert receive("STOP", to="567").routed_by == "stop"  # the catch-all never takes an opt-out


def test_a_keyword_outside_its_dates_or_switched_off_does_not_match():
    now = timezone.now()
    create_keyword("WIN", reply_template="x", active_from=now + timedelta(days=1))
    create_keyword("OLD", reply_template="x", active_until=now - timedelta(days=1))
    create_keyword("OFF", reply_template="x", is_active=False)
    for text in ("WIN", "OLD", "OFF"):
        assert receive(text).routed_by == ""
    assert not OutboundMessage.objects.exists()


def test_the_per_contact_limit_files_later_texts_without_running_the_handler():
    create_keyword("WIN", handler=REWARD, per_contact_limit=1)
    receive("WIN A")
    receive("WIN B")
    receive("WIN C", sender="+447911123002")
    assert [argument for _, argument in testing.calls] == ["A", "C"]
    assert Dispatch.objects.filter(state="limited").count() == 1


def test_keyword_received_fires_once_after_the_handler():
    create_keyword("ABC", handler=REWARD)
    seen = []

    def receiver(sender, message, keyword, argument, **kwargs):
        seen.append((keyword.word, argument, len(testing.calls)))
        raise RuntimeError("a receiver cannot ask for a retry")  # logged and ignored

    keyword_received.connect(receiver)
    try:
        message = receive("ABC.Q")
    finally:
        keyword_received.disconnect(receiver)
    assert seen == [("ABC", "Q", 1)]
    message.refresh_from_db()
    assert message.pipeline_state == PipelineState.DONE


def test_a_redelivered_text_does_not_run_the_handler_again():
    create_keyword("ABC", handler=REWARD)
    receive("ABC.X", external_id="same")
    receive("ABC.X", external_id="same")
    assert len(testing.calls) == 1


def test_retry_later_rolls_back_the_handler_and_its_retry_runs_the_side_effect_once():
    create_keyword("ABC", handler=SCRIPTED)
    testing.script[:] = ["retry"]
    message = receive("ABC.X", external_id="sid-1")
    assert message.retry_later
    message.refresh_from_db()
    assert message.pipeline_state == PipelineState.PENDING and message.routed_by == ""
    assert not OutboundMessage.objects.filter(tag="reward").exists()  # its queued text rolled back
    assert not Reply.objects.filter(message=message).exists()  # not classified meanwhile
    again = receive("ABC.X", external_id="sid-1")  # the gateway's retry
    assert not again.retry_later and testing.calls == [(message.pk, "X")]
    assert OutboundMessage.objects.filter(tag="reward").count() == 1
    receive("ABC.X", external_id="sid-1")  # a third delivery runs nothing
    assert len(testing.calls) == 1 and OutboundMessage.objects.filter(tag="reward").count() == 1
    assert Dispatch.objects.get(message=message).attempts == 2


def test_a_handler_that_raises_is_a_retry_and_its_error_shows_in_the_keyword_s_health():
    keyword = create_keyword("ABC", handler=SCRIPTED)
    testing.script[:] = ["raise"]
    message = receive("ABC.X", external_id="sid-2")
    assert message.retry_later
    message.refresh_from_db()
    assert "the shop is down" in message.pipeline_error and message.pipeline_error.startswith("keyword:ABC: ")
    from keywords.services import health

    assert "the shop is down" in health(keyword).last_error and health(keyword).waiting == 1
    receive("ABC.X", external_id="sid-2")
    keyword.refresh_from_db()
    assert "the shop is down" in keyword.last_error  # noted from the pending text's error
    assert len(testing.calls) == 1


def test_after_the_last_attempt_the_text_goes_to_the_inbox_marked_keyword_failed(settings):
    settings.KEYWORDS_HANDLER_MAX_ATTEMPTS = 3
    settings.SMS_INBOUND_RECOVER_SECONDS = 0
    create_keyword("ABC", handler=SCRIPTED)
    testing.script[:] = ["raise"] * 10
    message = receive("ABC.X", external_id="sid-3")
    receive("ABC.X", external_id="sid-3")
    assert recover_inbound(older_than=timedelta(0))["retried"] == 1  # our own third attempt
    message.refresh_from_db()
    assert message.pipeline_state == PipelineState.DONE and message.routed_by == "keyword:ABC"
    dispatch = Dispatch.objects.get(message=message)
    assert dispatch.state == "failed" and dispatch.attempts == 3 and "the shop is down" in dispatch.error
    reply = Reply.objects.get(message=message)
    assert reply.needs_review and reply.note.startswith("Keyword ABC failed")
    assert testing.calls == [] and not OutboundMessage.objects.filter(tag="reward").exists()


def test_a_text_older_than_the_give_up_time_fails_at_its_first_retry(settings):
    settings.KEYWORDS_HANDLER_GIVE_UP_HOURS = 1
    create_keyword("ABC", handler=SCRIPTED)
    testing.script[:] = ["raise", "raise"]
    from sms.backends import InboundData
    from sms.receiving import store_inbound

    data = InboundData(
        sender="+447911123001",
        recipient="",
        content="ABC.X",
        external_id="old",
        received_at=timezone.now() - timedelta(hours=2),
    )
    message, _ = store_inbound("locmem", data)
    assert message.retry_later  # a text the gateway held for hours still gets a retry
    message, _ = store_inbound("locmem", data)
    assert not message.retry_later and Dispatch.objects.get(message=message).state == "failed"


def test_a_slow_handler_is_interrupted_rolled_back_and_the_gateway_asked_to_retry(settings):
    settings.KEYWORDS_HANDLER_TIMEOUT_SECONDS = 0.3
    create_keyword("SLOW", handler="keywords.testing.slow")
    started = timezone.now()
    message = receive("SLOW x")
    elapsed = (timezone.now() - started).total_seconds()
    assert message.retry_later and elapsed < 3  # the handler would run 10 s
    message.refresh_from_db()
    assert "Timed out after 0.3 s" in message.pipeline_error
    assert testing.calls == [] and not OutboundMessage.objects.filter(tag="reward").exists()


def test_the_routing_step_costs_no_query_for_a_plain_text_and_few_for_a_keyword(django_assert_num_queries):
    from keywords.pipeline import route
    from sms.testing import create_inbound

    create_number("567")
    create_keyword("JOIN", reply_template="Welcome {name}")
    route(create_inbound(content="warm the cache", recipient="567"))
    plain = create_inbound(content="Thanks, see you Friday", recipient="567")
    with django_assert_num_queries(0):
        route(plain)
    # (linked to its contact by link_conversation, as in the pipeline) the automatic-answer
    # count, the queued reply (contact, opt-out check, insert, its history), the dispatch
    # record and four savepoint statements; routed_by is saved with the pipeline's state.
    message = create_inbound(content="join", recipient="567", contact=Contact.objects.create(number="+447911123001"))
    with django_assert_num_queries(10):
        route(message)
    assert message.routed_by == "keyword:JOIN"
