"""SMPP text encoding and receipt reading (no SMSC needed)."""

import pytest

from modems.smpp import codec


def test_a_short_gsm7_text_is_one_part_one_octet_per_septet():
    (part,) = codec.split("Hi @ £5 {ok}", reference=1)
    assert (part.data_coding, part.esm_class, part.total) == (0, 0, 1)
    assert part.short_message[:2] == b"Hi" and len(part.short_message) == 14  # { and } take ESC + code
    assert codec.decode_text(part.short_message, 0) == "Hi @ £5 {ok}"


def test_long_texts_split_with_a_concatenation_header_never_inside_an_escape_or_pair():
    text = "x" * 152 + "€" + "y" * 10  # the € (ESC + 0x65) would straddle 153 septets
    parts = codec.split(text, reference=0x1234)
    assert [p.total for p in parts] == [2, 2] and all(p.esm_class == codec.ESM_UDHI for p in parts)
    assert [p.short_message[:6] for p in parts] == [bytes([5, 0, 3, 0x34, 2, s]) for s in (1, 2)]
    assert "".join(codec.read_text("", "", p.short_message, esm_class=0x40, data_coding=0).text for p in parts) == text
    emoji = "😀" * 40  # surrogate pairs: 4 octets each, 134 per part
    parts = codec.split(emoji, reference=7)
    assert {p.data_coding for p in parts} == {8}
    assert "".join(codec.read_text("", "", p.short_message, esm_class=0x40, data_coding=8).text for p in parts) == emoji


def test_receipt_tlvs_win_over_the_text_and_the_text_alone_is_read():
    text = b"id:1000 sub:001 dlvrd:001 submit date:2612011200 done date:2612011201 stat:UNDELIV err:034 text:"
    assert codec.read_receipt(text) == codec.Receipt("1000", "UNDELIV", "034")
    tlv = codec.read_receipt(text, receipted_message_id="3e8\x00", message_state=2)
    assert (tlv.message_id, tlv.stat, tlv.delivered) == ("3e8", "DELIVRD", True)
    with pytest.raises(ValueError):
        codec.read_receipt(b"no id here")


def test_ids_match_decimal_and_hex_both_ways():
    assert "3e8" in codec.id_variants("1000") and "1000" in codec.id_variants("3E8")
    assert codec.id_variants("abc-1") >= {"abc-1"}
