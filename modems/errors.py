"""The errors the modem driver raises (``modems.driver`` re-exports them).

Every failure is a ``ModemError`` with a message a person can act on; ``retryable`` says
whether trying later may work. ``SendAmbiguous`` / ``SendPartial`` mean the text may have gone
out: never re-send it blindly.
"""

from __future__ import annotations

from modems.at_codes import CME_ERRORS, CMS_ERRORS, PERMANENT_CMS


class ModemError(Exception):
    """Something went wrong talking to a modem. ``retryable``: trying later may work."""

    retryable = True


class ModemUnavailable(ModemError):
    """The port cannot be opened (unplugged, wrong path, in use)."""


class ModemBusy(ModemUnavailable):
    """Another process (the dispatcher, read_in) holds the port: try again shortly."""


class ModemDisconnected(ModemError):
    """The link dropped mid-command (unplugged, serial error, end of stream)."""


class ModemTimeout(ModemError):
    """No final result code in time."""


class ModemGarbage(ModemError):
    """A response we cannot make sense of."""


class CommandError(ModemError):
    """The modem answered ERROR, +CME ERROR or +CMS ERROR."""

    def __init__(self, command: str, kind: str = "", code: int | None = None, text: str = ""):
        self.command, self.kind, self.code = command, kind, code
        if kind == "CMS" and code is not None:
            text = text or CMS_ERRORS.get(code, "")
        elif kind == "CME" and code is not None:
            text = text or CME_ERRORS.get(code, "")
        self.reason = text
        label = f"+{kind} ERROR {code}" if kind else "ERROR"
        super().__init__(f"{command}: {label}" + (f" ({text})" if text else ""))
        self.retryable = not (kind == "CMS" and code in PERMANENT_CMS)

    @property
    def memory_full(self) -> bool:
        return self.kind == "CMS" and self.code == 322


class SimNotReady(ModemError):
    """AT+CPIN? did not answer READY (PIN needed, no SIM)."""


class PinRefused(SimNotReady):
    """The SIM refused the PIN we gave: never try it again by ourselves (three wrong PINs
    block the SIM until its PUK is entered)."""

    retryable = False


class SendAmbiguous(ModemError):
    """The PDU went to the modem but its answer never came: the text may have been sent."""

    retryable = False

    def __init__(self, message: str, *, sent_refs: list[int] | None = None):
        super().__init__(message)
        self.sent_refs = sent_refs or []


class SendPartial(ModemError):
    """Some parts of a long text went out, a later one failed: re-sending would duplicate."""

    retryable = False

    def __init__(self, message: str, *, sent_refs: list[int]):
        super().__init__(message)
        self.sent_refs = sent_refs
