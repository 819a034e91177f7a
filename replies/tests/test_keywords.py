import pytest

from replies.keywords import Keyword, match

pytestmark = pytest.mark.django_db


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
def test_opt_out_keywords_alone_or_with_punctuation(text):
    assert match(text) == Keyword.STOP


@pytest.mark.parametrize(
    "text", ["don't stop", "stop by tomorrow?", "when does it end", "stopping by", "can I cancel my booking?", "", "🛑"]
)
def test_keywords_inside_sentences_are_left_to_the_classifier(text):
    assert match(text) is None


@pytest.mark.parametrize(
    "text,keyword", [("START", Keyword.START), ("unstop!", Keyword.START), ("Help?", Keyword.HELP)]
)
def test_start_and_help(text, keyword):
    assert match(text) == keyword


def test_keywords_come_from_settings(settings):
    settings.REPLIES_OPT_OUT_KEYWORDS = ["STOP", "ARRET"]
    assert match("arrêt") is None  # accents are kept: ARRÊT is not ARRET
    settings.REPLIES_OPT_OUT_KEYWORDS = ["STOP", "ARRÊT"]
    assert match("Arrêt!") == Keyword.STOP
    assert match("cancel") is None
