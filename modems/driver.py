"""A driver for USB GSM modems that speak the 3GPP TS 27.005/27.007 AT command set.

Works with anything pyserial opens: a device path (``/dev/ttyUSB2``), a pseudo-terminal
(the simulator), ``loop://`` or ``socket://host:port`` (a modem behind ser2net).

Failure model, which the rest of the app relies on:

* Every failure is a ``ModemError`` subclass with a message a person can act on.
* ``SendNotSent``-style failures (no ``>`` prompt, ``+CMS ERROR`` before or after the PDU)
  mean the text did *not* leave: safe to retry.
* Once the PDU and Ctrl-Z are written, a time-out or a dropped link raises ``SendAmbiguous``:
  the modem may have handed the text to the network, so it must not be re-sent blindly.
* Reading never deletes: the caller deletes a stored text (``delete``) only after it is
  committed to the database.
"""

from __future__ import annotations

import logging
import re
import termios
import time
from dataclasses import dataclass

import serial

from modems import pdu
from modems.at_codes import (  # noqa: F401  (re-exported: the rest of the app reads them here)
    _COMPLETE_WITHOUT_OK,
    _CPIN_CME,
    _OTHER_ERRORS,
    CME_ERRORS,
    CMS_ERRORS,
    IDENTITY_COMMANDS,
    PERMANENT_CMS,
    REGISTRATION,
    SIM_STATES,
    TRAILING_OK_WAIT,
    ati_fields,
    describe_sim_state,
    identity_value,
)
from modems.errors import (
    CommandError,
    ModemBusy,
    ModemDisconnected,
    ModemError,
    ModemGarbage,
    ModemTimeout,
    ModemUnavailable,
    PinRefused,
    SendAmbiguous,
    SendPartial,
    SimNotReady,
)

logger = logging.getLogger(__name__)

CTRL_Z, ESC = b"\x1a", b"\x1b"
# What pyserial lets through when a USB modem vanishes: its own exception, an OSError from
# read/write, or a bare termios.error from tcdrain/tcflush on a dead descriptor.
LINK_ERRORS = (serial.SerialException, OSError, termios.error)
FINAL_OK = "OK"
_ERROR_RE = re.compile(r"^\+(CMS|CME) ERROR:\s*(.+)$")
_EOL = re.compile(rb"\r\n|\n\r|\r|\n")
# Unsolicited result codes a modem may slip between our lines: a new text arrived (+CMTI),
# a status report (+CDSI), Huawei's periodic ^RSSI/^MODE/^BOOT/^DSFLOWRPT chatter.
_URC_PREFIXES = ("+CMTI:", "+CDSI:", "+CDS:", "RING", "^", "+CREG: ", "+CGREG: ", "+CUSD:", "NO CARRIER")


@dataclass
class StoredText:
    """One +CMGL entry: storage index, status (0 unread, 1 read, 2 stored unsent, 3 sent), PDU."""

    index: int
    status: int
    pdu: str


@dataclass
class ModemIdentity:
    """Who the modem is (AT+CGMI/CGMM/CGMR/CGSN/CIMI, or ATI): staff tell dongles apart by it."""

    manufacturer: str = ""
    model: str = ""
    firmware: str = ""
    imei: str = ""
    imsi: str = ""


@dataclass
class ModemStatus:
    sim: str  # AT+CPIN? answer, e.g. READY or SIM PIN
    signal_rssi: int | None  # 0-31, None when unknown (99)
    registration: int | None
    operator: str = ""
    storage_used: int | None = None
    storage_total: int | None = None
    identity: ModemIdentity | None = None

    @property
    def sim_text(self) -> str:
        return describe_sim_state(self.sim)

    @property
    def signal_dbm(self) -> int | None:
        return None if self.signal_rssi is None else -113 + 2 * self.signal_rssi

    @property
    def registration_text(self) -> str:
        return REGISTRATION.get(self.registration, "unknown") if self.registration is not None else "unknown"

    @property
    def registered(self) -> bool:
        return self.registration in (1, 5)


class Modem:
    """One open connection to a modem. Use as a context manager."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 115200,
        timeout: float = 10.0,
        send_timeout: float = 60.0,
        prompt_timeout: float = 10.0,
        lock_wait: float = 5.0,
    ):
        self.port = port
        self.baudrate = baudrate
        self.timeout = timeout
        self.send_timeout = send_timeout
        self.prompt_timeout = prompt_timeout
        self.lock_wait = lock_wait
        self._serial = None
        self._buffer = b""

    # --- Connection --------------------------------------------------------------------------

    def open(self) -> Modem:
        """Open the port with an exclusive lock (flock), waiting up to ``lock_wait`` seconds.

        The dispatcher and ``read_in`` run from cron at the same minute: two processes
        interleaving AT commands on one modem would corrupt both conversations.
        """
        deadline = time.monotonic() + self.lock_wait
        while True:
            try:
                self._serial = serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=0.05, exclusive=True)
                break
            except (serial.SerialException, OSError, ValueError) as exc:
                if "exclusively lock" not in str(exc):
                    raise ModemUnavailable(f"Cannot open modem at {self.port}: {exc}") from exc
                if time.monotonic() > deadline:
                    raise ModemBusy(f"Modem at {self.port} is in use by another process") from exc
                time.sleep(0.2)
        self._buffer = b""
        return self

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except LINK_ERRORS:
                pass
            self._serial = None

    def __enter__(self) -> Modem:
        return self.open() if self._serial is None else self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- Low level ----------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self._serial is None:
            raise ModemDisconnected(f"Modem at {self.port} is not open")
        try:
            self._serial.write(data)
            self._serial.flush()
        except LINK_ERRORS as exc:
            raise ModemDisconnected(f"Lost the modem at {self.port} while writing: {exc}") from exc

    def _read_some(self) -> bytes:
        try:
            return self._serial.read(self._serial.in_waiting or 1)
        except (*LINK_ERRORS, TypeError) as exc:
            # pyserial reports an unplugged USB modem or a closed pty as a SerialException
            # ("device reports readiness to read but returned no data").
            raise ModemDisconnected(f"Lost the modem at {self.port}: {exc}") from exc

    def _discard_input(self) -> None:
        """Drop anything left over (a late answer to a timed-out command, noise)."""
        self._buffer = b""
        try:
            self._serial.reset_input_buffer()
        except LINK_ERRORS as exc:
            raise ModemDisconnected(f"Lost the modem at {self.port}: {exc}") from exc

    def _next_line(self) -> bytes | None:
        """One line from the buffer, ended by CR, LF or both (modems differ), or None."""
        match = _EOL.search(self._buffer)
        if match is None:
            return None
        raw, self._buffer = self._buffer[: match.start()], self._buffer[match.end() :]
        return raw

    def _read_until_final(self, command: str, timeout: float, *, prompt: bool = False) -> list[str]:
        """The information lines of an answer (or ['>'] for a prompt).

        An answer ends at its final result code (OK, ERROR, +CME/+CMS ERROR, COMMAND NOT
        SUPPORT), or, for the commands in ``_COMPLETE_WITHOUT_OK``, once the line they exist
        for has come and no OK followed within ``TRAILING_OK_WAIT``. Our own echo, blank lines
        and unsolicited result codes arriving in the middle are left out.
        """
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        completes = _COMPLETE_WITHOUT_OK.get(command.upper())
        complete_at: float | None = None
        while True:
            while True:
                if prompt and self._buffer.lstrip(b"\r\n \x00").startswith(b">"):
                    self._buffer = b""
                    return [">"]
                raw = self._next_line()
                if raw is None:
                    break
                line = raw.strip(b"\r\n\x00\x1a ").decode("ascii", errors="replace")
                if not line or line.upper() == command.upper():  # blank, or our own echo
                    continue
                if line == FINAL_OK:
                    return lines
                if line == "ERROR":
                    raise CommandError(command)
                if line in _OTHER_ERRORS:
                    raise CommandError(command, text=_OTHER_ERRORS[line])
                match = _ERROR_RE.match(line)
                if match:
                    kind, value = match.groups()
                    code = int(value) if value.strip().isdigit() else None
                    raise CommandError(command, kind, code, "" if code is not None else value)
                if _unsolicited(line, command):
                    logger.debug("URC from %s: %s", self.port, line)
                    continue
                lines.append(line)
                if completes is not None and completes.match(line):
                    complete_at = time.monotonic()
            now = time.monotonic()
            if complete_at is not None and now > complete_at + TRAILING_OK_WAIT:
                return lines  # the answer came without a final OK (Wavecom's +CPIN: READY)
            if now > deadline:
                raise ModemTimeout(
                    f"{command}: no answer from the modem at {self.port} within {timeout:g} s"
                    + (f" (got {lines[-1][:60]!r})" if lines else "")
                )
            self._buffer += self._read_some()

    def command(self, command: str, *, timeout: float | None = None) -> list[str]:
        """Send one AT command; return its information lines (without OK) or raise."""
        self._discard_input()
        self._write(command.encode("ascii") + b"\r")
        return self._read_until_final(command, timeout or self.timeout)

    # --- Commands --------------------------------------------------------------------------------

    def initialise(self) -> None:
        """Echo off, numeric errors, PDU mode. A couple of bare ATs first to sync the line."""
        for attempt in range(3):
            try:
                self.command("AT", timeout=min(self.timeout, 3.0))
                break
            except (ModemTimeout, CommandError):
                if attempt == 2:
                    raise
                self._write(ESC)  # a previous run may have left the modem waiting at ">"
        self.command("ATE0")
        try:
            self.command("ATV1")  # word result codes ("OK"), not digits ("0")
        except CommandError:
            pass
        self.command("AT+CMEE=1")
        self.command("AT+CMGF=0")
        try:
            # Store incoming texts on the SIM and only notify (+CMTI): a modem left in "route
            # directly to the terminal" mode (+CMT) would hand texts to nobody and they'd be lost.
            self.command("AT+CNMI=2,1,0,0,0")
        except CommandError:
            logger.info("Modem at %s does not take AT+CNMI=2,1,0,0,0; keeping its setting", self.port)

    def sim_status(self) -> str:
        """AT+CPIN?: "READY", "SIM PIN", "SIM PUK", "NO SIM"... (see ``describe_sim_state``)."""
        try:
            lines = self.command("AT+CPIN?")
        except CommandError as exc:
            # Some modems answer a locked or missing SIM with +CME ERROR 10/11/12 instead.
            if exc.kind == "CME" and exc.code in _CPIN_CME:
                return _CPIN_CME[exc.code]
            raise
        value = _info(lines, "+CPIN:", "AT+CPIN?")
        return value.strip().strip('"').upper()

    def require_sim(self, *, pin: str = "") -> None:
        """Raise ``SimNotReady`` unless the SIM is ready; enter ``pin`` when it asks for one.

        A PIN is entered once per call and only when the SIM asks for exactly that: a refused
        PIN raises ``PinRefused`` so the caller stops trying (three wrong PINs block the SIM).
        """
        try:
            status = self.sim_status()
        except CommandError as exc:
            raise SimNotReady(f"SIM not ready at {self.port}: {exc}") from exc
        if status == "SIM PIN" and pin:
            self.unlock(pin)
            status = self._wait_ready()
        if status != "READY":
            raise SimNotReady(f"SIM not ready at {self.port}: {describe_sim_state(status)}")

    def unlock(self, pin: str) -> None:
        if not re.fullmatch(r"\d{4,8}", pin):
            raise PinRefused(f"The PIN for {self.port} must be 4 to 8 digits; not sent to the SIM")
        try:
            self.command(f'AT+CPIN="{pin}"', timeout=max(self.timeout, 5.0))
        except CommandError as exc:
            if exc.kind == "CME" and exc.code in (12, 16):
                raise PinRefused(f"The SIM at {self.port} refused the PIN: {exc.reason}. Not tried again.") from exc
            raise SimNotReady(f"Could not enter the PIN at {self.port}: {exc}") from exc

    def _wait_ready(self, seconds: float = 10.0) -> str:
        """A SIM takes a few seconds after its PIN before it answers READY."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                status = self.sim_status()
            except CommandError as exc:
                if exc.kind == "CME" and exc.code == 14 and time.monotonic() < deadline:  # SIM busy
                    time.sleep(0.5)
                    continue
                raise SimNotReady(f"SIM not ready at {self.port}: {exc}") from exc
            if status == "READY" or time.monotonic() > deadline:
                return status
            if status in ("SIM PUK", "NO SIM"):
                return status
            time.sleep(0.5)

    def signal(self) -> int | None:
        """RSSI 0-31 from AT+CSQ (None when the modem does not know: 99)."""
        value = _info(self.command("AT+CSQ"), "+CSQ:", "AT+CSQ")
        try:
            rssi = int(value.split(",")[0])
        except ValueError:
            raise ModemGarbage(f"AT+CSQ: cannot read {value!r}") from None
        return None if rssi == 99 else rssi

    def registration(self) -> int | None:
        value = _info(self.command("AT+CREG?"), "+CREG:", "AT+CREG?")
        fields = value.split(",")
        try:
            return int(fields[1] if len(fields) > 1 else fields[0])
        except ValueError:
            raise ModemGarbage(f"AT+CREG?: cannot read {value!r}") from None

    def operator(self) -> str:
        """The network's name from AT+COPS?; "" when the modem answers a bare OK (not yet
        registered, or the command is not in its set)."""
        lines = self.command("AT+COPS?")
        value = next((line[6:].strip() for line in lines if line.startswith("+COPS:")), "")
        fields = value.split(",")
        return fields[2].strip().strip('"') if len(fields) > 2 else ""

    def storage(self) -> tuple[int, int] | None:
        """(used, total) of the preferred message storage, from AT+CPMS?."""
        value = _info(self.command("AT+CPMS?"), "+CPMS:", "AT+CPMS?")
        fields = value.split(",")
        try:
            return int(fields[1]), int(fields[2])
        except (IndexError, ValueError):
            return None

    def identity(self) -> ModemIdentity:
        """Make, model, firmware, IMEI and IMSI: each asked on its own (any may be missing),
        with ATI to fill in what the +CGxx commands did not say."""
        found = ModemIdentity()
        quick = min(self.timeout, 3.0)
        for name, command in IDENTITY_COMMANDS:
            try:
                lines = self.command(command, timeout=quick)
            except (CommandError, ModemTimeout, ModemGarbage):
                continue
            value = identity_value(name, lines)
            if value:
                setattr(found, name, value)
        if not all((found.manufacturer, found.model, found.firmware, found.imei)):
            try:
                lines = self.command("ATI", timeout=quick)
            except (CommandError, ModemTimeout, ModemGarbage):
                lines = []
            for name, value in ati_fields(lines).items():
                if not getattr(found, name):
                    setattr(found, name, value)
        return found

    def status(self, *, identity: bool = True) -> ModemStatus:
        """SIM state, signal, registration, operator, storage and (optionally) identity.

        Only the SIM state is required: every other part is optional on some modem, and a
        modem that cannot say one of them still reports the rest.
        """
        result = ModemStatus(sim=self.sim_status(), signal_rssi=None, registration=None)
        optional = (ModemError,)
        try:
            result.signal_rssi = self.signal()
        except optional as exc:
            logger.info("Modem at %s gave no signal: %s", self.port, exc)
        try:
            result.registration = self.registration()
        except optional as exc:
            logger.info("Modem at %s gave no registration: %s", self.port, exc)
        for name, call in (("operator", self.operator), ("storage", self.storage)):
            try:
                value = call()
            except (CommandError, ModemGarbage, ModemTimeout):  # optional commands: not every modem has them
                continue
            if name == "operator":
                result.operator = value
            elif value:
                result.storage_used, result.storage_total = value
        if identity:
            result.identity = self.identity()
        return result

    def send_pdu(self, part: pdu.SubmitPart) -> int:
        """Submit one PDU; returns the network's message reference from +CMGS."""
        command = f"AT+CMGS={part.tpdu_length}"
        self._discard_input()
        self._write(command.encode("ascii") + b"\r")
        try:
            self._read_until_final(command, self.prompt_timeout, prompt=True)
        except ModemTimeout:
            # Nothing was submitted: cancel the half-open command so the modem is usable again.
            try:
                self._write(ESC)
            except ModemDisconnected:
                pass
            raise ModemTimeout(f"{command}: the modem at {self.port} never asked for the text (no '>')") from None
        # From here on the modem may hold the text: only a clean answer tells us what happened.
        try:
            self._write(part.pdu.encode("ascii") + CTRL_Z)
            lines = self._read_until_final(command, self.send_timeout)
        except (ModemTimeout, ModemDisconnected) as exc:
            raise SendAmbiguous(f"The text may have been sent: {exc}") from exc
        except CommandError:
            raise  # the network or the modem refused it: not sent
        value = _info(lines, "+CMGS:", command, error=SendAmbiguous)
        try:
            return int(value.split(",")[0])
        except ValueError:
            raise SendAmbiguous(f"The text may have been sent: unreadable answer {value!r}") from None

    def send_text(self, number: str, text: str, *, reference: int = 0) -> list[int]:
        """Send a text (several concatenated parts when long). Returns the message references."""
        refs: list[int] = []
        parts = pdu.encode_submit(number, text, reference=reference)
        for seq, part in enumerate(parts, start=1):
            try:
                refs.append(self.send_pdu(part))
            except SendAmbiguous as exc:
                exc.sent_refs = refs
                raise
            except ModemError as exc:
                if refs:
                    raise SendPartial(
                        f"Part {seq} of {len(parts)} failed after {len(refs)} went out: {exc}", sent_refs=refs
                    ) from exc
                raise
        return refs

    def list_texts(self, stat: int = 4) -> tuple[list[StoredText], list[str]]:
        """Every stored text (AT+CMGL=4 in PDU mode). Returns (texts, problems).

        A listing line we cannot read is reported in ``problems`` and its text stays on the SIM.
        """
        # Listing a full SIM takes a while on real modems.
        lines = self.command(f"AT+CMGL={stat}", timeout=self.timeout * 3)
        texts, problems = [], []
        pending = None
        for line in lines:
            if line.startswith("+CMGL:"):
                if pending is not None:
                    problems.append(f"entry {pending[0]} had no PDU line")
                fields = line[6:].split(",")
                try:
                    pending = (int(fields[0]), int(fields[1]))
                except (IndexError, ValueError):
                    problems.append(f"unreadable listing line {line[:60]!r}")
                    pending = None
                continue
            if pending is None:
                problems.append(f"unexpected line {line[:60]!r}")
                continue
            if not re.fullmatch(r"[0-9A-Fa-f]+", line):
                problems.append(f"entry {pending[0]}: PDU is not hex")
            else:
                texts.append(StoredText(index=pending[0], status=pending[1], pdu=line))
            pending = None
        if pending is not None:
            problems.append(f"entry {pending[0]} had no PDU line")
        return texts, problems

    def read_text(self, index: int) -> StoredText:
        lines = self.command(f"AT+CMGR={index}")
        header = _info(lines, "+CMGR:", f"AT+CMGR={index}")
        position = next(i for i, line in enumerate(lines) if line.startswith("+CMGR:"))
        if position + 1 >= len(lines):
            raise ModemGarbage(f"AT+CMGR={index}: no PDU line")
        return StoredText(index=index, status=int(header.split(",")[0]), pdu=lines[position + 1])

    def delete(self, index: int) -> None:
        self.command(f"AT+CMGD={index}")


_CODE_RE = re.compile(r"^[+^*#$%][A-Z0-9]+:")


def _unsolicited(line: str, command: str) -> bool:
    """A line the modem sent on its own, not part of this command's answer: a known
    unsolicited code, or any "+NAME:" / "^NAME:" line naming another command (makers add
    their own: ZTE's +ZUSIMR, Huawei's ^SYSSTART...)."""
    expected = _expected_prefix(command)
    if line.startswith(expected):
        return False
    return line.startswith(_URC_PREFIXES) or bool(_CODE_RE.match(line))


def _expected_prefix(command: str) -> str:
    """ "AT+CREG?" expects "+CREG:": such lines are answers, not unsolicited codes."""
    name = command[2:].split("=")[0].rstrip("?")
    return f"{name}:" if name.startswith("+") else "\x00"


def _info(lines: list[str], prefix: str, command: str, *, error: type[ModemError] = ModemGarbage) -> str:
    for line in lines:
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise error(f"{command}: expected {prefix} in the answer, got {lines[:3]!r}")
