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


class ModemSimulator:
    def __init__(self, *, capacity: int = 30, sim_status: str = "READY", rssi: int = 21, creg: int = 1):
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
        self.echo = True
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

    def _answer(self, *lines: str, final: str = "OK") -> None:
        if self.faults.delay:
            time.sleep(self.faults.delay)
        if self.faults.garbage:
            self._send(self.faults.garbage)
        body = "".join(f"\r\n{line}" for line in lines)
        self._send(f"{body}\r\n{final}\r\n")

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
        if upper in ("AT", "ATZ"):
            self._answer()
        elif upper in ("ATE0", "ATE1"):
            self.echo = upper == "ATE1"
            self._answer()
        elif upper.startswith(("AT+CMEE=", "AT+CNMI=")):
            self._answer()
        elif upper.startswith("AT+CMGF="):
            self.pdu_mode = upper.endswith("0")
            self._answer()
        elif upper == "AT+CPIN?":
            if self.sim_status == "NO SIM":
                self._answer(final="+CME ERROR: 10")
            else:
                self._answer(f"+CPIN: {self.sim_status}")
        elif upper == "AT+CSQ":
            self._answer(f"+CSQ: {self.rssi},99")
        elif upper == "AT+CREG?":
            self._answer(f"+CREG: 0,{self.creg}")
        elif upper == "AT+COPS?":
            self._answer(f'+COPS: 0,0,"{self.operator}",2')
        elif upper == "AT+CPMS?":
            used = len(self.storage)
            self._answer(f'+CPMS: "SM",{used},{self.capacity},"SM",{used},{self.capacity},"SM",{used},{self.capacity}')
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
