"""One bound SMPP connection (smpplib's client) with a window of outstanding submit_sm.

A reader thread reads every PDU: submit_sm_resp (handed to ``on_response`` with the part it
answers), deliver_sm (``on_deliver``: stored before the deliver_sm_resp goes back, so a crash
makes the SMSC deliver it again rather than lose it), enquire_link. ``submit`` blocks while
the window is full. A dropped connection, a bind refused or an SMSC that stops answering
raise ``LinkDown``; the parts still outstanding are then the caller's to resolve (they may
have reached the SMSC).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import smpplib.client
import smpplib.consts as c
import smpplib.exceptions

logger = logging.getLogger(__name__)

THROTTLING_STATUSES = {c.SMPP_ESME_RTHROTTLED, c.SMPP_ESME_RMSGQFUL}


class LinkDown(Exception):
    """The connection is gone or unusable."""


class NotSent(LinkDown):
    """The connection failed before this submit_sm reached the socket: it certainly did not go."""


@dataclass
class Outstanding:
    """A submit_sm sent and not answered yet."""

    key: object  # the caller's handle for this part
    sent_at: float = field(default_factory=time.monotonic)


class Session:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        system_id: str,
        password: str,
        system_type: str = "",
        window: int = 10,
        response_timeout: float = 30.0,
        on_response=None,
        on_deliver=None,
    ):
        self.host, self.port = host, int(port)
        self.system_id, self.password, self.system_type = system_id, password, system_type
        self.window = max(1, int(window))
        self.response_timeout = response_timeout
        self.on_response = on_response or (lambda key, status, message_id: None)
        self.on_deliver = on_deliver or (lambda pdu: None)
        self.client: smpplib.client.Client | None = None
        self.outstanding: dict[int, Outstanding] = {}
        self.lock = threading.Condition()
        self.send_lock = threading.Lock()
        self.error: str = ""
        self.reader: threading.Thread | None = None
        self.last_heard = time.monotonic()
        self.throttled_until = 0.0
        self.throttle_delay = 0.0

    # --- connection ------------------------------------------------------------------------

    def open(self) -> None:
        client = smpplib.client.Client(
            self.host, self.port, timeout=5, allow_unknown_opt_params=True, logger_name="smpplib.client"
        )
        try:
            client.connect()
            client.bind_transceiver(
                system_id=self.system_id, password=self.password, system_type=self.system_type or None
            )
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as exc:
            try:
                client.disconnect()
            except Exception:  # noqa: S110 - already broken
                pass
            raise LinkDown(f"bind to {self.host}:{self.port} failed: {exc}") from exc
        client._socket.settimeout(0.5)  # the reader wakes up to notice a close
        client.set_message_sent_handler(self._submit_resp)
        client.set_message_received_handler(self._deliver)
        client.set_error_pdu_handler(lambda pdu: None)  # error statuses are read per command
        self.client = client
        self.last_heard = time.monotonic()
        self.reader = threading.Thread(target=self._read, name=f"smpp-reader-{self.system_id}", daemon=True)
        self.reader.start()

    def close(self, *, unbind: bool = True) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        if unbind and not self.error:
            try:
                with self.send_lock:
                    client.send_pdu(smpplib.smpp.make_pdu("unbind", client=client))
            except Exception:  # noqa: S110 - closing anyway
                pass
        self.error = self.error or "closed"
        with self.lock:
            self.lock.notify_all()
        if self.reader and self.reader is not threading.current_thread():
            self.reader.join(timeout=2)
        try:
            client.disconnect()
        except Exception:  # noqa: S110
            pass

    def _read(self) -> None:
        from django.db import connection

        try:
            while self.client is not None and not self.error:
                try:
                    self.client.read_once(auto_send_enquire_link=False)
                    self.last_heard = time.monotonic()
                except TimeoutError:
                    continue
                except (smpplib.exceptions.ConnectionError, OSError, AttributeError) as exc:
                    self._fail(f"connection lost: {exc or 'closed by the SMSC'}")
                except Exception as exc:
                    logger.exception("SMPP reader stopped")
                    self._fail(f"reader stopped: {exc!r}")
        finally:
            connection.close()  # the reader's own database connection

    def _fail(self, reason: str) -> None:
        with self.lock:
            if not self.error:
                self.error = reason
            self.lock.notify_all()

    def check(self) -> None:
        """Raise LinkDown if the connection failed or the SMSC stopped answering."""
        if self.error:
            raise LinkDown(self.error)
        with self.lock:
            oldest = min((o.sent_at for o in self.outstanding.values()), default=None)
        if oldest is not None and time.monotonic() - oldest > self.response_timeout:
            self._fail(f"no submit_sm_resp for {self.response_timeout:.0f} s")
            raise LinkDown(self.error)

    # --- sending ---------------------------------------------------------------------------

    def submit(self, key, **params) -> None:
        """Send one submit_sm once the window has room and any throttling pause is over."""
        with self.lock:
            while len(self.outstanding) >= self.window and not self.error:
                self.lock.wait(0.5)
                self._check_timeout_locked()
        try:
            self.check()
        except LinkDown as exc:
            raise NotSent(str(exc)) from exc
        pause = self.throttled_until - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        try:
            with self.send_lock, self.lock:
                pdu = smpplib.smpp.make_pdu("submit_sm", client=self.client, **params)
                self.outstanding[pdu.sequence] = Outstanding(key=key)
                self.client.send_pdu(pdu)
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError, AttributeError) as exc:
            self._fail(f"submit failed: {exc}")
            raise LinkDown(self.error) from exc

    def _check_timeout_locked(self) -> None:
        oldest = min((o.sent_at for o in self.outstanding.values()), default=None)
        if oldest is not None and time.monotonic() - oldest > self.response_timeout:
            self.error = self.error or f"no submit_sm_resp for {self.response_timeout:.0f} s"

    def in_flight(self) -> int:
        with self.lock:
            return len(self.outstanding)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is outstanding (or the link fails). True when idle."""
        end = time.monotonic() + timeout
        with self.lock:
            while self.outstanding and not self.error and time.monotonic() < end:
                self.lock.wait(min(0.2, max(end - time.monotonic(), 0.01)))
            return not self.outstanding

    def take_outstanding(self) -> list:
        """The parts never answered (after a failure): the caller decides what they mean."""
        with self.lock:
            keys = [o.key for o in self.outstanding.values()]
            self.outstanding.clear()
            return keys

    def enquire_link(self) -> None:
        try:
            with self.send_lock:
                self.client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=self.client))
        except (smpplib.exceptions.ConnectionError, OSError, AttributeError) as exc:
            self._fail(f"enquire_link failed: {exc}")
            raise LinkDown(self.error) from exc

    # --- reader callbacks ------------------------------------------------------------------

    def _submit_resp(self, pdu, **kwargs) -> None:
        with self.lock:
            waiting = self.outstanding.pop(pdu.sequence, None)
            self.lock.notify_all()
        if waiting is None:
            logger.warning("submit_sm_resp for an unknown sequence %s", pdu.sequence)
            return
        status = int(pdu.status)
        if status in THROTTLING_STATUSES:
            # The SMSC asks us to slow down: pause before the next submit, longer each time.
            self.throttle_delay = min(max(self.throttle_delay * 2, 0.05), 5.0)
            self.throttled_until = time.monotonic() + self.throttle_delay
        elif status == c.SMPP_ESME_ROK:
            self.throttle_delay = self.throttle_delay / 2 if self.throttle_delay > 0.05 else 0.0
        message_id = pdu.message_id.decode() if isinstance(pdu.message_id, bytes) else (pdu.message_id or "")
        self.on_response(waiting.key, status, message_id.strip("\x00"))

    def _deliver(self, pdu, **kwargs):
        try:
            self.on_deliver(pdu)
        except Exception:
            logger.exception("Could not store a deliver_sm; the SMSC will deliver it again")
            return c.SMPP_ESME_RX_T_APPN  # temporary application error: the SMSC retries
        return c.SMPP_ESME_ROK
