import pytest

from sms.encoding import is_gsm7, segment_info, to_gsm7

EMOJI = "\U0001f600"  # outside the BMP: a surrogate pair in UTF-16

# (text, encoding, length in septets / UTF-16 units, segments)
VECTORS = [
    ("", "gsm7", 0, 1),
    ("Hello", "gsm7", 5, 1),
    ("a" * 160, "gsm7", 160, 1),
    ("a" * 161, "gsm7", 161, 2),
    ("a" * 306, "gsm7", 306, 2),
    ("a" * 307, "gsm7", 307, 3),
    ("€" * 80, "gsm7", 160, 1),  # extension characters count two septets
    ("€" * 81, "gsm7", 162, 2),
    ("a" * 159 + "€", "gsm7", 161, 2),
    # 152 septets then an ESC pair: the pair may not straddle parts, so a third part is needed
    ("a" * 152 + "€" + "a" * 152, "gsm7", 306, 3),
    ("a" * 151 + "€" + "a" * 153, "gsm7", 306, 2),
    ("^{}\\[~]|", "gsm7", 16, 1),
    ("Café Straße ÄÖÜ äöü ñ à", "gsm7", 23, 1),
    ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¡¿§¤", "gsm7", 33, 1),
    ("Zażółć gęślą jaźń", "ucs2", 17, 1),
    ("ê", "ucs2", 1, 1),  # ê is not in GSM-7 (only è and é are)
    ("x" * 70 + "ł", "ucs2", 71, 2),
    ("ł" * 70, "ucs2", 70, 1),
    ("ł" * 134, "ucs2", 134, 2),
    ("ł" * 135, "ucs2", 135, 3),
    (EMOJI * 35, "ucs2", 70, 1),
    (EMOJI * 36, "ucs2", 72, 2),
    # 66 units then a surrogate pair: the pair moves to part two
    ("ł" * 66 + EMOJI + "ł" * 66, "ucs2", 134, 3),
    ("ł" * 65 + EMOJI + "ł" * 67, "ucs2", 134, 2),
    ("Привет", "ucs2", 6, 1),
    ("مرحبا", "ucs2", 5, 1),
    ("你好世界", "ucs2", 4, 1),
]


@pytest.mark.parametrize(("text", "encoding", "length", "segments"), VECTORS)
def test_segment_vectors(text, encoding, length, segments):
    info = segment_info(text)
    assert (info.encoding, info.length, info.segments) == (encoding, length, segments)


def test_remaining_counts_down_within_a_segment():
    assert segment_info("a" * 150).remaining == 10
    assert segment_info("a" * 161).remaining == 153 * 2 - 161
    assert segment_info("€").remaining == 158


def test_newline_and_carriage_return_are_gsm7():
    assert is_gsm7("line one\nline two\r")


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Zażółć gęślą jaźń", "Zazolc gesla jazn"),
        ("It’s “quoted” – ok…", 'It\'s "quoted" - ok...'),
        ("Café über", "Café über"),  # already GSM-7: kept as written
        ("Crème brûlée", "Crème brulée"),
    ],
)
def test_transliteration_keeps_text_gsm7(original, expected):
    assert to_gsm7(original) == expected
    assert is_gsm7(expected)


def test_transliteration_keeps_what_it_cannot_spell():
    assert to_gsm7(f"Hi {EMOJI}") == f"Hi {EMOJI}"
