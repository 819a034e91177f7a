import phonenumbers
import pytest

from sms.phone import InvalidNumber, _is_valid, normalise

# Crown dependencies share +44 with GB: the shortcut must agree with phonenumbers on them.
NUMBERS = [
    "07400 123456",
    "+44 7700 900123",  # Ofcom drama range: not valid
    "+44 1534 449000",  # Jersey
    "+44 7797 123456",  # Jersey mobile
    "+44 1481 700000",  # Guernsey
    "+44 7624 123456",  # Isle of Man mobile
    "+353 85 123 4567",
    "+1 202 555 0143",
    "+33 6 12 34 56 78",
    "020 7946 0000",
    "12345",
    "07400 12345",
]


@pytest.mark.parametrize("raw", NUMBERS)
@pytest.mark.parametrize("region", ["GB", "JE", "US", "IE"])
def test_validity_shortcut_agrees_with_phonenumbers(raw, region):
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return
    assert _is_valid(parsed, region) == phonenumbers.is_valid_number(parsed)


def test_normalise_reads_national_and_international_forms():
    assert normalise("07400 123456") == "+447400123456"
    assert normalise("0044 7400 123456") == "+447400123456"
    assert normalise("+44 1534 449000") == "+441534449000"
    with pytest.raises(InvalidNumber):
        normalise("+44 7700 900123")
