"""A GSM modem simulator on a pseudo-terminal, speaking real AT responses.

The test suite (and a demo without hardware) points the real driver at ``sim.port``, a
``/dev/pts/N`` path pyserial opens like any USB modem. The simulator keeps the texts stored
on its SIM, the texts "the network" accepted, and can misbehave on request: ``+CMS ERROR``
codes, slow answers, garbage bytes, silence, a full SIM memory, and an unplugged cable in
the middle of a command.

    with ModemSimulator() as sim:
        sim.deliver("+447700900123", "Hello")
        with Modem(sim.port) as modem: ...
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from dataclasses import dataclass, field
from datetime import UTC, datetime

from modems import pdu

STATUS_NAMES = {0: "REC UNREAD", 1: "REC READ", 2: "STO UNSENT", 3: "STO SENT"}


@dataclass
class Faults:
    """What to get wrong. Lists are consumed one item per matching event."""

    #: +CMS ERROR code answered after the next PDUs (None in the list = send normally).
    send_errors: list = field(default_factory=list)
    #: Close the line after the network accepted the n-th PDU from now, before answering +CMGS.
    drop_after_submit: int | None = None
    #: Never give the ">" prompt to AT+CMGS.
    no_prompt: bool = False
    #: Close the line on receiving a command starting with this (e.g. "AT+CMGD").
    drop_on: str = ""
    #: Never answer a command starting with this.
    silent_on: str = ""
    #: Seconds to wait before every answer.
    delay: float = 0.0
    #: Bytes sent before every answer.
    garbage: bytes = b""
    #: Answer +CMS ERROR with this code to commands starting with the key.
    errors: dict = field(default_factory=dict)


@dataclass
class Personality:
    """How one make of modem answers, where real modems differ from each other.

    The six in ``PERSONALITIES`` follow the behaviours seen on real hardware: Huawei sticks
    slip ``^RSSI``/``^BOOT`` lines into answers, Wavecom answers ``AT+CPIN?`` without a final
    OK and ends lines with a bare CR, several answer a bare OK to ``AT+COPS?`` before they have
    an operator, a Nokia phone labels its identity answers, some modems answer a locked SIM's
    ``AT+CPIN?`` with ``+CME ERROR: 11``.
    """

    name: str = "generic"
    manufacturer: str = "Simulated"
    model: str = "SIM-1"
    firmware: str = "1.0"
    imei: str = "356938035643809"
    imsi: str = "234150123456789"
    line_end: str = "\r\n"
    echo: bool = True
    #: False: "+CPIN: READY" is the whole answer (no OK after it).
    cpin_ok: bool = True
    #: "+CME ERROR: 11" instead of "+CPIN: SIM PIN" while the SIM wants its PIN.
    cpin_as_cme: bool = False
    #: Answer AT+COPS? with a bare OK (no operator yet, or not in its command set).
    cops_bare: bool = False
    #: Unsolicited lines slipped into every answer that has information lines.
    urcs: tuple[str, ...] = ()
    #: Identity answers carry their command's name ("+CGMI: huawei").
    labelled_identity: bool = False
    #: Keeps echoing commands after ATE0 (some phones do).
    sticky_echo: bool = False
    #: Commands answered ERROR (not in this modem's set).
    unsupported: tuple[str, ...] = ()
    #: ATI answer lines ({...} filled from the fields above).
    ati: tuple[str, ...] = ("{manufacturer}", "{model}", "Revision: {firmware}")


PERSONALITIES = {
    "huawei-e173": Personality(
        name="huawei-e173", manufacturer="huawei", model="E173", firmware="11.126.85.00.209",
        imei="353142041234567", urcs=("^RSSI:14", "^BOOT:20211227,0,0,0,75"), cops_bare=True,
        ati=("Manufacturer: huawei", "Model: E173", "Revision: 11.126.85.00.209", "IMEI: 353142041234567",
             "+GCAP: +CGSM"),
    ),
    "huawei-e3372": Personality(
        name="huawei-e3372", manufacturer="huawei", model="E3372", firmware="21.180.01.00.00",
        imei="866123045678901", urcs=("+CMTI: \"SM\",7",), labelled_identity=False,
    ),
    "zte-mf190": Personality(
        name="zte-mf190", manufacturer="ZTE CORPORATION", model="MF190", firmware="BD_TMOP673M3V1.0.1B03",
        imei="358275012345678", cops_bare=True, cpin_as_cme=True, urcs=("+ZUSIMR:2",),
    ),
    "wavecom": Personality(
        name="wavecom", manufacturer="WAVECOM MODEM", model="MULTIBAND  900E  1800", firmware="R7.46.0.201108091301",
        imei="012345678901234", line_end="\r", cpin_ok=False, unsupported=("AT+CGMM",),
        ati=("WAVECOM MODEM", "MULTIBAND  900E  1800"),
    ),
    "nokia": Personality(
        name="nokia", manufacturer="Nokia", model="Nokia 6230i", firmware="V 03.88", imei="354845012345678",
        labelled_identity=True, unsupported=("AT+CPMS?",), ati=("Nokia",), sticky_echo=True,
    ),
    "qualcomm": Personality(
        name="qualcomm", manufacturer="QUALCOMM INCORPORATED", model="QUECTEL Mobile Broadband Module",
        firmware="EC25EFAR06A06M4G", imei="867962041234567", cops_bare=True, echo=False,
    ),
}  # fmt: skip


class ModemSimulator:
    def __init__(
        self,
        *,
        capacity: int = 30,
        sim_status: str = "READY",
        rssi: int = 21,
        creg: int = 1,
        personality: Personality | str | None = None,
        pin: str = "1234",
    ):
        if isinstance(personality, str):
            personality = PERSONALITIES[personality]
        self.personality = personality or Personality()
        #: The PIN the SIM wants while its status is "SIM PIN"; wrong PINs counted, 3 → "SIM PUK".
        self.pin = pin
        self.wrong_pins = 0
        self.capacity = capacity
        self.sim_status = sim_status
        self.rssi = rssi
        self.creg = creg
        self.operator = "Simulated Mobile"
        self.storage: dict[int, tuple[int, str]] = {}
        self.network: list[pdu.Decoded] = []  # texts the network accepted from us
        self.rejected_while_full = 0
        self.faults = Faults()
        self.commands: list[str] = []
        self.echo = self.personality.echo
        self.pdu_mode = False
        self._next_ref = 1
        self._lock = threading.Lock()
        self._master = self._slave = None
        self._thread = None
        self._stop = threading.Event()
        self.connected = False

    # --- Life cycle ---------------------------------------------------------------------------

    def start(self) -> ModemSimulator:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no line discipline: bytes pass through unchanged
        self.port = os.ttyname(self._slave)
        self._stop.clear()
        self.connected = True
        self._thread = threading.Thread(target=self._run, name="modem-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)
        self.unplug()
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None

    def unplug(self) -> None:
        """Pull the cable: the driver's next read or write fails."""
        self.connected = False
        if self._master is not None:
            try:
                os.close(self._master)
            except OSError:
                pass
            self._master = None

    def __enter__(self) -> ModemSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- The SIM and the network -----------------------------------------------------------------

    def deliver(self, sender: str, text: str, *, when: datetime | None = None, concat=None, status: int = 0) -> int:
        """A text arrives from the network; returns its storage index (or -1 when memory is full)."""
        with self._lock:
            if len(self.storage) >= self.capacity:
                self.rejected_while_full += 1
                return -1
            index = next(i for i in range(1, self.capacity + 2) if i not in self.storage)
            self.storage[index] = (status, pdu.encode_deliver(sender, text, when=when, concat=concat))
            return index

    def deliver_long(self, sender: str, text: str, *, ref: int, chunk: int = 100, when=None, order=None) -> list[int]:
        """A long text arriving as concatenated parts (in ``order``, a list of 1-based numbers)."""
        chunks = [text[i : i + chunk] for i in range(0, len(text), chunk)]
        total = len(chunks)
        order = order or list(range(1, total + 1))
        return [
            self.deliver(sender, chunks[seq - 1], when=when, concat=pdu.Concat(ref=ref, total=total, seq=seq))
            for seq in order
        ]

    def sent_texts(self) -> list[tuple[str, str]]:
        """(recipient, text) of every text the network accepted, long ones reassembled."""
        singles, groups = [], {}
        for item in self.network:
            if item.concat:
                groups.setdefault((item.number, item.concat.ref), {})[item.concat.seq] = item.text
            else:
                singles.append((item.number, item.text))
        for (number, _ref), parts in groups.items():
            singles.append((number, "".join(parts[i] for i in sorted(parts))))
        return singles

    # --- The serial line -------------------------------------------------------------------------

    def _send(self, text: str | bytes) -> None:
        if self._master is None:
            return
        data = text.encode("latin-1") if isinstance(text, str) else text
        try:
            os.write(self._master, data)
        except OSError:
            self.connected = False

    def _answer(self, *lines: str, final: str | None = "OK") -> None:
        if self.faults.delay:
            time.sleep(self.faults.delay)
        if self.faults.garbage:
            self._send(self.faults.garbage)
        eol = self.personality.line_end
        if lines and self.personality.urcs:
            # Unsolicited lines arrive in the middle of an answer, as they do on real modems.
            middle = max(len(lines) // 2, 1)
            lines = (*lines[:middle], *self.personality.urcs, *lines[middle:])
        body = "".join(f"{eol}{line}" for line in lines)
        self._send(f"{body}{eol}{final}{eol}" if final is not None else f"{body}{eol}")

    def _run(self) -> None:
        buffer = b""
        waiting_pdu: int | None = None
        while not self._stop.is_set() and self._master is not None:
            try:
                ready, _, _ = select.select([self._master], [], [], 0.05)
                if not ready:
                    continue
                chunk = os.read(self._master, 4096)
            except (OSError, TypeError, ValueError):
                break
            if not chunk:
                break
            buffer += chunk
            while True:
                if waiting_pdu is not None:
                    end = min((i for i in (buffer.find(b"\x1a"), buffer.find(b"\x1b")) if i >= 0), default=-1)
                    if end < 0:
                        break
                    body, terminator, buffer = buffer[:end], buffer[end : end + 1], buffer[end + 1 :]
                    length, waiting_pdu = waiting_pdu, None
                    if terminator == b"\x1a":
                        self._submit(body.decode("ascii", errors="replace").strip(), length)
                    else:
                        self._send("\r\nOK\r\n")  # ESC: cancelled, nothing sent
                    continue
                if b"\r" not in buffer:
                    break
                line, _, buffer = buffer.partition(b"\r")
                buffer = buffer.lstrip(b"\n")
                command = line.decode("ascii", errors="replace").strip().lstrip("\x1b")
                if not command:
                    continue
                if self.echo:
                    self._send(command + "\r")
                waiting_pdu = self._command(command)
                if self._master is None:
                    return

    def _command(self, command: str) -> int | None:
        self.commands.append(command)
        upper = command.upper()
        if self.faults.drop_on and upper.startswith(self.faults.drop_on):
            self.unplug()
            return None
        if self.faults.silent_on and upper.startswith(self.faults.silent_on):
            return None
        for prefix, code in self.faults.errors.items():
            if upper.startswith(prefix):
                self._answer(final=f"+CMS ERROR: {code}")
                return None
        if any(upper.startswith(item) for item in self.personality.unsupported):
            self._answer(final="ERROR")
        elif upper in ("AT", "ATZ", "ATV1"):
            self._answer()
        elif upper.startswith("AT+CPIN="):
            self._enter_pin(command.split("=", 1)[1].strip().strip('"'))
        elif self.sim_status != "READY" and upper.startswith(("AT+CPMS?", "AT+CMGL", "AT+CMGR", "AT+CMGS")):
            self._answer(final="+CME ERROR: 11" if self.sim_status == "SIM PIN" else "+CME ERROR: 10")
        elif upper.startswith("AT+CMG"):
            return self._messaging(upper)
        elif upper in ("AT+CGMI", "AT+CGMM", "AT+CGMR", "AT+CGSN", "AT+CIMI", "ATI"):
            self._identity(upper)
        elif upper in ("ATE0", "ATE1"):
            self.echo = upper == "ATE1" or self.personality.sticky_echo
            self._answer()
        elif upper.startswith(("AT+CMEE=", "AT+CNMI=")):
            self._answer()
        elif upper == "AT+CPIN?":
            if self.sim_status == "NO SIM":
                self._answer(final="+CME ERROR: 10")
            elif self.sim_status == "SIM PIN" and self.personality.cpin_as_cme:
                self._answer(final="+CME ERROR: 11")
            else:
                self._answer(f"+CPIN: {self.sim_status}", final="OK" if self.personality.cpin_ok else None)
        elif upper == "AT+CSQ":
            self._answer(f"+CSQ: {self.rssi},99")
        elif upper == "AT+CREG?":
            self._answer(f"+CREG: 0,{self.creg}")
        elif upper == "AT+COPS?":
            if self.personality.cops_bare or self.creg not in (1, 5):
                self._answer()
            else:
                self._answer(f'+COPS: 0,0,"{self.operator}",2')
        elif upper == "AT+CPMS?":
            used = len(self.storage)
            self._answer(f'+CPMS: "SM",{used},{self.capacity},"SM",{used},{self.capacity},"SM",{used},{self.capacity}')
        else:
            self._answer(final="ERROR")
        return None

    def _messaging(self, upper: str) -> int | None:
        if upper.startswith("AT+CMGF="):
            self.pdu_mode = upper.endswith("0")
            self._answer()
        elif upper.startswith("AT+CMGS="):
            return self._start_send(upper)
        elif upper.startswith("AT+CMGL"):
            self._list(upper)
        elif upper.startswith("AT+CMGR="):
            self._read(upper)
        elif upper.startswith("AT+CMGD="):
            with self._lock:
                index = int(upper.split("=")[1].split(",")[0])
                if index in self.storage:
                    del self.storage[index]
                    self._answer()
                else:
                    self._answer(final="+CMS ERROR: 321")
        else:
            self._answer(final="ERROR")
        return None

    def _enter_pin(self, pin: str) -> None:
        if self.sim_status != "SIM PIN":
            self._answer(final="+CME ERROR: 3")  # operation not allowed: no PIN asked for
        elif pin == self.pin:
            self.sim_status = "READY"
            self._answer()
        else:
            self.wrong_pins += 1
            if self.wrong_pins >= 3:
                self.sim_status = "SIM PUK"
            self._answer(final="+CME ERROR: 16")

    def _identity(self, upper: str) -> None:
        who = self.personality
        if upper == "ATI":
            self._answer(*(line.format(**vars(who)) for line in who.ati))
            return
        if upper == "AT+CIMI" and self.sim_status != "READY":
            self._answer(final="+CME ERROR: 11")
            return
        name = {"AT+CGMI": "manufacturer", "AT+CGMM": "model", "AT+CGMR": "firmware", "AT+CGSN": "imei"}.get(upper)
        value = getattr(who, name) if name else who.imsi
        self._answer(f"{upper[2:]}: {value}" if who.labelled_identity else value)

    def _start_send(self, upper: str) -> int | None:
        if not self.pdu_mode:
            self._answer(final="+CMS ERROR: 305")  # this simulator sends in PDU mode only
            return None
        if self.faults.no_prompt:
            return None
        if self.faults.delay:
            time.sleep(self.faults.delay)
        self._send("\r\n> ")
        return int(upper.split("=")[1])

    def _submit(self, hex_pdu: str, length: int) -> None:
        if self.faults.send_errors:
            code = self.faults.send_errors.pop(0)
            if code is not None:
                self._answer(final=f"+CMS ERROR: {code}")
                return
        try:
            decoded = pdu.decode(hex_pdu)
        except pdu.PDUError:
            self._answer(final="+CMS ERROR: 304")
            return
        if len(hex_pdu) // 2 - 1 != length:
            self._answer(final="+CMS ERROR: 304")
            return
        self.network.append(decoded)
        ref = self._next_ref
        self._next_ref = (self._next_ref + 1) % 256
        if self.faults.drop_after_submit is not None:
            if self.faults.drop_after_submit <= 1:
                self.faults.drop_after_submit = None
                self.unplug()
                return
            self.faults.drop_after_submit -= 1
        self._answer(f"+CMGS: {ref}")

    def _list(self, upper: str) -> None:
        with self._lock:
            items = sorted(self.storage.items())
        lines = []
        for index, (status, hex_pdu) in items:
            if self.pdu_mode:
                lines += [f"+CMGL: {index},{status},,{_tpdu_length(hex_pdu)}", hex_pdu]
            else:
                decoded = pdu.decode(hex_pdu)
                stamp = decoded.scts.strftime("%y/%m/%d,%H:%M:%S+00") if decoded.scts else ""
                lines += [f'+CMGL: {index},"{STATUS_NAMES[status]}","{decoded.number}",,"{stamp}"', decoded.text]
        self._answer(*lines)
        with self._lock:  # listing marks unread texts read, as real modems do
            for index, (status, hex_pdu) in items:
                if status == 0 and index in self.storage:
                    self.storage[index] = (1, hex_pdu)

    def _read(self, upper: str) -> None:
        index = int(upper.split("=")[1])
        with self._lock:
            item = self.storage.get(index)
        if item is None:
            self._answer(final="+CMS ERROR: 321")
            return
        status, hex_pdu = item
        self._answer(f"+CMGR: {status},,{_tpdu_length(hex_pdu)}", hex_pdu)


def _tpdu_length(hex_pdu: str) -> int:
    try:
        return len(hex_pdu) // 2 - 1 - int(hex_pdu[:2], 16)
    except ValueError:  # a corrupted entry (tests put garbage in storage on purpose)
        return len(hex_pdu) // 2


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
