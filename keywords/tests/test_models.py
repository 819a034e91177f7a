"""Save-time validation, and the router's cache following every change."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keywords.models import BrokerProvider, Keyword, Number, StandardWords, canonical_number
from keywords.routing import decide
from keywords.testing import create_keyword, create_number

pytestmark = pytest.mark.django_db


def _errors(instance) -> dict:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


@pytest.mark.parametrize("word", ["STOP", "stop", "Opt-out", "unsubscribe", "STOPALL"])
def test_a_keyword_can_never_shadow_an_opt_out_word(word):
    assert "can never take the place of an opt-out" in _errors(Keyword(word=word))["word"][0]


def test_an_opt_out_word_added_in_the_dashboard_is_refused_as_a_keyword_too():
    StandardWords(opt_out_words="STOP, BASTA", opt_in_words="START", help_words="HELP").save()
    assert "opt-out" in _errors(Keyword(word="basta"))["word"][0]


def test_a_help_word_must_be_freed_before_it_becomes_a_keyword():
    assert "remove it from the HELP words first" in _errors(Keyword(word="INFO"))["word"][0]
    StandardWords(opt_out_words="STOP", opt_in_words="START", help_words="HELP").save()
    create_keyword("INFO", reply_template="Opening hours: 9-5")
    assert decide(content="info", recipient="").routed_by == "keyword:INFO"


def test_the_standard_words_may_not_take_a_configured_keyword():
    create_keyword("JOIN", reply_template="x")
    words = StandardWords(opt_out_words="STOP", opt_in_words="START, JOIN", help_words="HELP")
    assert "JOIN" in _errors(words)["help_words"][0]
    assert (
        "at least one" in _errors(StandardWords(opt_out_words=" ", opt_in_words="", help_words=""))["opt_out_words"][0]
    )


@pytest.mark.parametrize(
    "path,message",
    [
        ("nosuchmodule.handler", "Cannot import"),
        ("keywords.testing.nothing_here", "Cannot import"),
        ("keywords.testing.calls", "is not callable"),
        ("handler", "full dotted path"),
    ],
)
def test_the_handler_path_is_checked_at_save(path, message):
    assert message in _errors(Keyword(word="ABC", handler=path))["handler"][0]


def test_a_working_handler_path_is_accepted_and_the_word_normalised():
    keyword = create_keyword(" abc! ", handler="keywords.testing.reward")
    assert keyword.word == "ABC"


def test_link_and_template_checks():
    assert "{link}" in _errors(Keyword(word="A1", reply_template="Go to {link}"))["reply_template"][0]
    assert "Cannot fill in" in _errors(Keyword(word="A2", reply_template="Price {"))["reply_template"][0]
    both = Keyword(word="A3", link_url="https://x.example", link_view="keywords.handlers_demo.purchase")
    assert "not both" in _errors(both)["link_view"][0]
    assert "Cannot import" in _errors(Keyword(word="A4", link_view="keywords.nope.view"))["link_view"][0]


def test_active_until_must_follow_active_from():
    from django.utils import timezone

    now = timezone.now()
    assert "after the start" in _errors(Keyword(word="A", active_from=now, active_until=now))["active_until"][0]


@pytest.mark.parametrize(
    "raw,kind,expected",
    [
        ("567", "", "567"),
        ("+567", "", "567"),
        ("07911 123456", "", "+447911123456"),
        ("447911123456", "", "+447911123456"),
        ("0567", "short_code", "0567"),
    ],
)
def test_numbers_are_stored_and_looked_up_in_one_form(raw, kind, expected):
    assert canonical_number(raw, kind=kind) == expected


def test_a_number_that_is_not_one_is_refused():
    assert "number" in _errors(Number(number="hello", kind=Number.Kind.LONG_NUMBER))


def test_broker_allow_list_must_be_cidr_ranges_and_the_secret_is_stored_hashed():
    provider = BrokerProvider(name="A", slug="a", allowed_ips="10.0.0.0/8\nnot-an-ip")
    assert "Not a CIDR range" in _errors(provider)["allowed_ips"][0]
    provider.allowed_ips = "10.0.0.0/8, 2001:db8::/32"
    provider.set_secret("s3cret-s3cret-s3cret")
    provider.full_clean()
    assert "s3cret" not in provider.secret_hash and provider.check_secret("s3cret-s3cret-s3cret")
    assert provider.allows("10.1.2.3") and provider.allows("2001:db8::1")
    assert not provider.allows("192.168.0.1") and not provider.allows("garbage")


def test_the_router_reads_no_table_once_cached_and_every_save_is_seen_at_once():
    create_number("567")
    decide(content="ABC.X", recipient="567")  # loads the snapshot
    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            assert decide(content="ABC.X", recipient="567").routed_by == ""
    assert len(queries) == 0
    keyword = create_keyword("ABC", reply_template="x")
    assert decide(content="ABC.X", recipient="567").routed_by == "keyword:ABC"
    other = create_number("890")
    keyword.numbers.set([other])  # a many-to-many change invalidates too
    assert decide(content="ABC.X", recipient="567").routed_by == ""
    keyword.delete()
    assert decide(content="ABC.X", recipient="890").routed_by == ""
