"""Reading keywords out of texts: the standard words (whole text) and configured prefixes."""

import pytest

from keywords.parsing import Parsed, parse
from keywords.routing import decide

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "text,word,argument",
    [
        ("ABC.UNICORN", "ABC", "UNICORN"),
        ("abc unicorn", "ABC", "unicorn"),
        ("ABC:X y", "ABC", "X y"),
        ("ABC#X", "ABC", "X"),
        ("  Join! ", "JOIN", ""),
        ("ABC. hello world ", "ABC", "hello world"),
        ("🙏 win", "WIN", ""),
    ],
)
def test_prefix_and_argument(text, word, argument):
    assert parse(text) == Parsed(word=word, argument=argument)


@pytest.mark.parametrize("text", ["", "!!!", "don't stop", "ABC-X", "A" * 21])
def test_not_keyword_shaped(text):
    assert parse(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop.",
        " stop! ",
        "STOP!!!",
        "stop 🛑",
        "Unsubscribe",
        "cancel",
        "END",
        "quit",
        "Opt-out",
        "opt out",
        "OPTOUT",
        "revoke",
        "stop all",
        "STOPALL",
        "'Stop'",
    ],
)
def test_opt_out_words_alone_or_with_punctuation(text):
    assert decide(content=text, recipient="").routed_by == "stop"


@pytest.mark.parametrize(
    "text", ["don't stop", "stop by tomorrow?", "when does it end", "stopping by", "can I cancel my booking?", "", "🛑"]
)
def test_standard_words_inside_sentences_are_left_alone(text):
    assert decide(content=text, recipient="").routed_by == ""


@pytest.mark.parametrize("text,kind", [("START", "start"), ("unstop!", "start"), ("Help?", "help")])
def test_start_and_help(text, kind):
    assert decide(content=text, recipient="").routed_by == kind


def test_without_dashboard_words_the_environment_s_apply(settings):
    settings.REPLIES_OPT_OUT_KEYWORDS = ["STOP", "ARRET"]
    assert decide(content="arrêt", recipient="").routed_by == ""  # accents kept: ARRÊT is not ARRET
    settings.REPLIES_OPT_OUT_KEYWORDS = ["STOP", "ARRÊT"]
    assert decide(content="Arrêt!", recipient="").routed_by == "stop"
    assert decide(content="cancel", recipient="").routed_by == ""
