"""The ``modem`` SMS backend: sends through a USB GSM modem with the AT driver.

Registered in ``settings.SMS_BACKENDS`` as ``"modem"``; the SIM router gives each modem SIM
its own instance (``device``, ``sim_id`` options). One serial session per batch.

How failures map onto the dispatcher's retry policy:

* the modem cannot be opened, has no SIM ready, times out before taking the text, or the
  network refuses it with a temporary ``+CMS ERROR`` → temporary ``BackendError``: retried;
* a ``+CMS ERROR`` that no retry can fix (unassigned number, barred...) → permanent;
* the link dropped (or went silent) *after* the PDU was handed over → the text may have gone
  out. Re-sending could give the recipient a duplicate, so it is an ``ambiguous`` error: the
  dispatcher marks the text UNKNOWN and never re-sends it; its SIM allowance is kept. The same
  for a long text of which some parts went out.
"""

from __future__ import annotations

from django.conf import settings

from modems.driver import (
    CommandError,
    Modem,
    ModemError,
    PinRefused,
    SendAmbiguous,
    SendPartial,
)
from sms.backends.base import BackendError, BaseBackend, SendResult


class ModemBackend(BaseBackend):
    slug = "modem"
    name = "USB GSM modem"
    standalone = False  # needs the device of its SIM: only the SIM router builds one

    def __init__(self, **options):
        super().__init__(**options)
        #: pks of messages that failed in a way that may still have reached the network.
        self.maybe_sent_pks: set[int] = set()

    def modem(self) -> Modem:
        return Modem(
            self.option("device"),
            baudrate=int(self.option("baudrate", settings.MODEMS_BAUDRATE)),
            timeout=float(self.option("timeout", settings.MODEMS_COMMAND_TIMEOUT)),
            send_timeout=float(self.option("send_timeout", settings.MODEMS_SEND_TIMEOUT)),
        )

    def publish_message(self, message) -> SendResult:
        return self.publish_messages([message])[0]

    def publish_messages(self, messages) -> list[SendResult]:
        device = self.option("device")
        modem = self.modem()
        try:
            modem.open()
            modem.initialise()
            modem.require_sim(pin=self.option("pin", ""))
        except PinRefused as exc:
            modem.close()
            self._record_pin_refused()
            error = BackendError(f"Modem {device} not ready: {exc}", code="modem")
            self._record_unreachable(str(exc))
            return [SendResult(message=m, error=error) for m in messages]
        except ModemError as exc:
            modem.close()
            error = BackendError(f"Modem {device} not ready: {exc}", code="modem")
            self._record_unreachable(str(exc))
            return [SendResult(message=m, error=error) for m in messages]
        results: list[SendResult] = []
        broken: ModemError | None = None
        try:
            for message in messages:
                if broken is not None:
                    error = BackendError(f"Not attempted: the modem stopped answering ({broken})", code="modem")
                    results.append(SendResult(message=message, error=error))
                    continue
                try:
                    refs = modem.send_text(message.recipient, message.content, reference=message.pk % 256)
                except (SendAmbiguous, SendPartial) as exc:
                    self.maybe_sent_pks.add(message.pk)
                    code = "ambiguous" if isinstance(exc, SendAmbiguous) else "partial"
                    error = BackendError(
                        f"May have been sent: {exc}. Not re-sent automatically to avoid a duplicate.",
                        ambiguous=True,
                        code=code,
                    )
                    results.append(SendResult(message=message, error=error))
                    if isinstance(exc, SendAmbiguous):
                        broken = exc
                except CommandError as exc:
                    code = f"CMS {exc.code}" if exc.kind == "CMS" else "modem"
                    results.append(
                        SendResult(
                            message=message, error=BackendError(str(exc), permanent=not exc.retryable, code=code)
                        )
                    )
                except ModemError as exc:
                    # Timed out before taking the text, garbage, or unplugged: not sent.
                    results.append(SendResult(message=message, error=BackendError(str(exc), code="modem")))
                    broken = exc
                else:
                    sim_id = self.option("sim_id", "")
                    results.append(
                        SendResult(
                            message=message,
                            external_id=f"modem-{sim_id}-" + "-".join(str(ref) for ref in refs),
                            extra_sender_data={"modem_refs": refs},
                        )
                    )
        finally:
            modem.close()
        return results

    def _record_pin_refused(self) -> None:
        from modems.models import SimCard

        sim_id = self.option("sim_id", None)
        if sim_id:
            SimCard.objects.filter(pk=sim_id).update(pin_refused=True)

    def _record_unreachable(self, error: str) -> None:
        """Note on the SIM that its modem did not answer, so the router tries the other SIMs
        for a while (MODEMS_UNREACHABLE_SECONDS) instead of retrying this one."""
        from django.utils import timezone

        from modems.models import SimCard

        sim_id = self.option("sim_id", None)
        if sim_id:
            SimCard.objects.filter(pk=sim_id).update(
                status_error=f"Not ready: {error}"[:500], status_checked_at=timezone.now()
            )
