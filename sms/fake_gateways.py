"""Gateways played by ``sms.fake_http.FakeHTTPServer`` for concurrency tests and benchmarks:
answer like Twilio, Clickatell or SMS Broadcast after a set delay, and count what arrived.

    with LatencyGateway(kind="twilio", delay=0.02) as gateway:
        settings.TWILIO_API_BASE = gateway.url
        ...
        assert gateway.duplicates() == 0
        assert gateway.max_in_flight <= 16

It counts requests (and texts) per recipient, the most requests in flight at once, and the
time each request arrived (to check a messages-per-second limit from the gateway's side).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter

from sms.fake_http import FakeHTTPServer, RecordedRequest, Reply

TWILIO_ACCOUNT = "AC" + "b2" * 16
TWILIO_TOKEN = "twilio-auth-token-latency-bench0"


class LatencyGateway:
    def __init__(self, *, kind: str = "twilio", delay: float = 0.02, status: int = 0):
        self.kind = kind
        self.delay = delay
        self.per_recipient: Counter[str] = Counter()
        self.arrivals: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.server = FakeHTTPServer(handler=self._handle)
        self.server.requests = _Discard()  # a benchmark sends tens of thousands: count, don't keep

    # --- What the gateway saw ----------------------------------------------------------------

    @property
    def texts(self) -> int:
        return sum(self.per_recipient.values())

    def duplicates(self) -> int:
        """Texts beyond the first per recipient (each test recipient gets one text)."""
        return sum(count - 1 for count in self.per_recipient.values() if count > 1)

    def rate(self, skip: int = 0) -> float:
        """Requests per second between the first and the last arrival (after ``skip``)."""
        arrivals = sorted(self.arrivals)[skip:]
        if len(arrivals) < 2:
            return 0.0
        return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])

    def busiest(self, window: float = 1.0) -> int:
        """Most requests that arrived within any ``window`` seconds: what a per-second limit
        means from the gateway's side, unmoved by a late first request."""
        arrivals = sorted(self.arrivals)
        most, start = 0, 0
        for end, at in enumerate(arrivals):
            while at - arrivals[start] > window:
                start += 1
            most = max(most, end - start + 1)
        return most

    def reset(self) -> None:
        with self._lock:
            self.per_recipient.clear()
            self.arrivals.clear()
            self.max_in_flight = 0

    # --- Answers -------------------------------------------------------------------------------

    def _handle(self, request: RecordedRequest) -> Reply:
        params = request.params
        numbers = [n for n in (params.get("To") or params.get("to") or "").split(",") if n]
        with self._lock:
            self.arrivals.append(time.monotonic())
            for number in numbers:
                self.per_recipient[number.lstrip("+")] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            serial = next(self._ids)
        try:
            if self.delay:
                time.sleep(self.delay)
        finally:
            with self._lock:
                self.in_flight -= 1
        return getattr(self, f"_{self.kind}")(params, numbers, serial)

    def _twilio(self, params, numbers, serial) -> Reply:
        sid = f"SM{serial:032x}"
        return Reply(
            201,
            {
                "account_sid": TWILIO_ACCOUNT,
                "sid": sid,
                "status": "queued",
                "to": params.get("To", ""),
                "from": params.get("From", ""),
                "body": params.get("Body", ""),
                "num_segments": "1",
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Messages/{sid}.json",
            },
        )

    def _clickatell(self, params, numbers, serial) -> Reply:
        return Reply(200, f"ID: {serial:032x}")

    def _smsbroadcast(self, params, numbers, serial) -> Reply:
        return Reply(200, "".join(f"OK: {number}: {serial}{i:04d}\n" for i, number in enumerate(numbers)))

    # --- Life cycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def address(self) -> str:
        return self.server.address

    def __enter__(self) -> LatencyGateway:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()


class _Discard(list):
    def append(self, item) -> None:
        pass


def twilio_settings(url: str) -> dict[str, str]:
    """Settings (or environment variables) that point the Twilio backend at ``url``."""
    return {
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE": url,
    }


__all__ = ["LatencyGateway", "twilio_settings"]
