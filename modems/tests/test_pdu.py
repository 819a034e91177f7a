"""PDU encoding against published vectors (3GPP TS 23.040 / 23.038 examples as reproduced on
dreamfabric.com's "SMS PDU" page and Wikipedia's "Concatenated SMS" article)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from modems import pdu


def test_gsm7_packing_of_hellohello_matches_the_published_vector():
    assert pdu.pack_septets(pdu.gsm7_septets("hellohello")).hex().upper() == "E8329BFD4697D9EC37"


def test_gsm7_packing_of_test():
    assert pdu.pack_septets(pdu.gsm7_septets("Test")).hex().upper() == "D4F29C0E"


def test_sms_submit_matches_the_published_vector():
    # dreamfabric: to +46708251358, validity AA (4 days), "hellohello".
    (part,) = pdu.encode_submit("+46708251358", "hellohello", validity_hours=96)
    assert part.pdu == "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
    assert part.tpdu_length == 23  # what AT+CMGS= takes: octets after the SMSC field


def test_sms_deliver_published_vector_decodes():
    decoded = pdu.decode("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37")
    assert decoded.kind == "deliver"
    assert decoded.smsc == "+27381000015"
    assert decoded.number == "27838890001"
    assert decoded.text == "hellohello"
    assert decoded.scts == datetime(1999, 3, 29, 15, 16, 59, tzinfo=timezone(timedelta(hours=2)))


def test_extension_table_characters_cost_an_escape_each():
    septets = pdu.gsm7_septets("€[")
    assert septets == [0x1B, 0x65, 0x1B, 0x3C]
    assert pdu.septets_to_text(septets) == "€["


def test_gsm7_basic_table_round_trips_every_character():
    text = "".join(pdu._BASIC_CODES) + "^{}\\[~]|€"
    assert (
        pdu.septets_to_text(pdu.unpack_septets(pdu.pack_septets(pdu.gsm7_septets(text)), len(pdu.gsm7_septets(text))))
        == text
    )
    assert pdu.gsm7_septets("@")[0] == 0 and pdu.gsm7_septets("¤")[0] == 0x24 and pdu.gsm7_septets("à")[0] == 0x7F


def test_udh_fill_bits_align_the_text_on_a_septet_boundary():
    # Wikipedia: a 6-octet header (05 00 03 CC 02 01) is 48 bits; one fill bit makes 7 septets,
    # so the first character starts at bit 49: "h" (0x68) shifted left by one bit is D0.
    (first, second) = pdu.encode_submit("+447700900123", "h" * 200, reference=0xCC)
    ud = bytes.fromhex(first.pdu)[-(153 * 7 // 8 + 1 + 6) :]
    assert ud[:6].hex().upper() == "050003CC0201"
    assert ud[6] == 0xD0
    decoded = [pdu.decode(part.pdu) for part in (first, second)]
    assert [d.concat for d in decoded] == [pdu.Concat(0xCC, 2, 1), pdu.Concat(0xCC, 2, 2)]
    assert "".join(d.text for d in decoded) == "h" * 200


def test_long_gsm7_text_never_splits_an_escape_pair():
    text = "a" * 152 + "€" + "b" * 20
    parts = [pdu.decode(p.pdu) for p in pdu.encode_submit("+447700900123", text)]
    assert parts[0].text == "a" * 152 and parts[1].text.startswith("€")


def test_ucs2_for_text_outside_gsm7_and_surrogates_stay_whole():
    text = "Zażółć gęślą jaźń 😀" * 5
    parts = pdu.encode_submit("+48600100200", text, reference=300, ref16=True)
    decoded = [pdu.decode(p.pdu) for p in parts]
    assert all(d.dcs == pdu.DCS_UCS2 for d in decoded)
    assert [d.concat.ref for d in decoded] == [300, 300]
    assert decoded[0].elements[pdu.IEI_CONCAT_16] == bytes([1, 44, 2, 1])
    assert "".join(d.text for d in decoded) == text


def test_single_ucs2_text_is_utf16_big_endian():
    (part,) = pdu.encode_submit("+447700900123", "Привет", validity_hours=None)
    assert part.pdu.endswith("0C041F04400438043204350442")  # UDL 12 octets, then UTF-16BE


def test_deliver_round_trip_with_alphanumeric_sender_and_negative_offset():
    when = datetime(2026, 11, 23, 10, 30, 5, tzinfo=timezone(timedelta(hours=-5)))
    decoded = pdu.decode(pdu.encode_deliver("Vodafone", "Top-up ok", when=when))
    assert (decoded.number, decoded.text, decoded.scts) == ("Vodafone", "Top-up ok", when)


def test_deliver_with_8bit_concat_header():
    concat = pdu.Concat(ref=7, total=3, seq=2)
    decoded = pdu.decode(pdu.encode_deliver("+447700900123", "middle", when=datetime.now(UTC), concat=concat))
    assert decoded.concat == concat and decoded.text == "middle"


@pytest.mark.parametrize("bad", ["", "ZZ", "0791", "07917283010010F5040BC872388809", "07917283010010F5020BC8"])
def test_truncated_or_garbage_pdus_raise_pdu_error(bad):
    with pytest.raises(pdu.PDUError):
        pdu.decode(bad)


def test_over_long_gsm7_user_data_is_decoded_and_marked():
    decoded = pdu.decode(pdu.encode_deliver("+447911123001", "a" * 200))
    assert decoded.text == "a" * 200
    assert any("200 GSM-7 characters" in problem for problem in decoded.problems)


def test_ucs2_beyond_140_bytes_and_short_user_data_are_taken_as_far_as_they_go():
    decoded = pdu.decode(pdu.encode_deliver("+447911123001", "é€" * 40 + "😊" * 10))  # 200 bytes
    assert decoded.text == "é€" * 40 + "😊" * 10
    assert any("more than one part's 140" in problem for problem in decoded.problems)
    whole = pdu.encode_deliver("+447911123001", "Hello there")
    cut = pdu.decode(whole[:-4])  # two bytes of user data missing
    assert cut.text.startswith("Hello th") and any("shorter than its length" in p for p in cut.problems)
    assert pdu.decode(whole).problems == []
