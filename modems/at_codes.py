"""What modems answer, in tables: error codes (3GPP TS 27.005 / 27.007), SIM states,
registration states, and how to read identity answers (``AT+CGMI``... or ``ATI``), which
differ from make to make. Used by ``modems.driver``."""

from __future__ import annotations

import re

CMS_ERRORS = {
    1: "unassigned (unallocated) number",
    8: "operator determined barring",
    10: "call barred",
    21: "short message transfer rejected",
    27: "destination out of service",
    28: "unidentified subscriber",
    29: "facility rejected",
    30: "unknown subscriber",
    38: "network out of order",
    41: "temporary failure",
    42: "congestion",
    47: "resources unavailable",
    50: "requested facility not subscribed",
    69: "requested facility not implemented",
    95: "invalid message",
    96: "invalid mandatory information",
    111: "protocol error",
    127: "interworking, unspecified",
    300: "ME failure",
    301: "SMS service of ME reserved",
    302: "operation not allowed",
    303: "operation not supported",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    310: "SIM not inserted",
    311: "SIM PIN required",
    313: "SIM failure",
    314: "SIM busy",
    315: "SIM wrong",
    316: "SIM PUK required",
    320: "memory failure",
    321: "invalid memory index",
    322: "SIM memory full",
    330: "SMSC address unknown",
    331: "no network service",
    332: "network timeout",
    500: "unknown error",
}
#: Network causes that no retry can fix: the number or the text is the problem.
PERMANENT_CMS = frozenset({1, 8, 10, 21, 28, 29, 30, 50, 95, 96, 304})

#: +CME ERROR codes (3GPP TS 27.007 §9.2) a modem answers about itself and its SIM.
CME_ERRORS = {
    0: "phone failure",
    1: "no connection to phone",
    3: "operation not allowed",
    4: "operation not supported",
    5: "PH-SIM PIN required",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required (the SIM is blocked after wrong PINs)",
    13: "SIM failure",
    14: "SIM busy",
    15: "SIM wrong",
    16: "incorrect password (wrong PIN)",
    17: "SIM PIN2 required",
    18: "SIM PUK2 required",
    20: "memory full",
    21: "invalid index",
    22: "not found",
    23: "memory failure",
    24: "text string too long",
    25: "invalid characters in text string",
    26: "dial string too long",
    30: "no network service",
    31: "network timeout",
    32: "network not allowed - emergency calls only",
    100: "unknown error",
}

#: What AT+CPIN? answers, said so a person knows what to do.
SIM_STATES = {
    "READY": "ready",
    "SIM PIN": "SIM PIN required",
    "SIM PUK": "SIM PUK required (the SIM is blocked after wrong PINs)",
    "SIM PIN2": "SIM PIN2 required",
    "SIM PUK2": "SIM PUK2 required",
    "PH-SIM PIN": "phone-to-SIM PIN required",
    "NO SIM": "SIM not inserted",
}
#: +CME ERROR codes some modems answer to AT+CPIN? instead of a +CPIN: line.
_CPIN_CME = {10: "NO SIM", 11: "SIM PIN", 12: "SIM PUK", 17: "SIM PIN2", 18: "SIM PUK2", 5: "PH-SIM PIN"}
#: Final result codes meaning "failed" besides ERROR / +CME ERROR / +CMS ERROR (Huawei, ZTE).
_OTHER_ERRORS = {"COMMAND NOT SUPPORT": "command not supported", "TOO MANY PARAMETERS": "too many parameters"}
#: Answers that are complete without a final OK: some modems (Wavecom) answer AT+CPIN? with
#: "+CPIN: READY" alone. Other commands' answers end at their final result code, whatever
#: comes between (echo, unsolicited lines).
_COMPLETE_WITHOUT_OK = {
    "AT+CPIN?": re.compile(r"^\+CPIN:"),
    "AT+CSQ": re.compile(r"^\+CSQ:\s*\d"),
    "AT+CREG?": re.compile(r"^\+CREG:\s*\d+\s*,\s*\d"),
    "AT+COPS?": re.compile(r"^\+COPS:"),
    "AT+CPMS?": re.compile(r"^\+CPMS:"),
}
#: How long to wait for a final OK after an answer that is complete without one.
TRAILING_OK_WAIT = 0.3

REGISTRATION = {
    0: "not registered, not searching",
    1: "registered, home network",
    2: "searching",
    3: "registration denied",
    4: "unknown",
    5: "registered, roaming",
}


IDENTITY_COMMANDS = (
    ("manufacturer", "AT+CGMI"),
    ("model", "AT+CGMM"),
    ("firmware", "AT+CGMR"),
    ("imei", "AT+CGSN"),
    ("imsi", "AT+CIMI"),
)
_ATI_KEYS = {
    "manufacturer": "manufacturer",
    "model": "model",
    "revision": "firmware",
    "firmware": "firmware",
    "imei": "imei",
    "imei sv": "",
}


def identity_value(name: str, lines: list[str]) -> str:
    """The value in an identity answer: "+CGMI: huawei", "Manufacturer: WAVECOM", "huawei",
    '+CGSN: "356938035643809"' all say what they say."""
    for line in lines:
        value = re.sub(r"^\+?[A-Z ]+:\s*", "", line, flags=re.IGNORECASE) if ":" in line else line
        value = value.strip().strip('"').strip()
        if name == "imei":
            match = re.search(r"\b\d{15}\b", value)
            value = match.group(0) if match else ""
        elif name == "imsi":
            match = re.search(r"\b\d{6,15}\b", value)
            value = match.group(0) if match else ""
        if value:
            return value[:100]
    return ""


def ati_fields(lines: list[str]) -> dict[str, str]:
    """ATI answers "Manufacturer: huawei" / "Model: E173" / "Revision: ..." / "IMEI: ..." (most
    sticks) or one free-form line per item (a make, then a model): take what is labelled, and
    the first two unlabelled lines as make and model."""
    fields, loose = {}, []
    for line in lines:
        key, sep, value = line.partition(":")
        name = _ATI_KEYS.get(key.strip().lower()) if sep else None
        if name:
            fields.setdefault(name, value.strip()[:100])
        elif name is None and line.strip():
            loose.append(line.strip())
    if "imei" in fields:
        match = re.search(r"\d{15}", fields["imei"])
        fields["imei"] = match.group(0) if match else ""
    for name, value in zip(("manufacturer", "model"), loose, strict=False):
        fields.setdefault(name, value[:100])
    return {name: value for name, value in fields.items() if value}


def describe_sim_state(state: str) -> str:
    return SIM_STATES.get(state, state or "unknown")
