"""A real HTTP server on 127.0.0.1 for tests and benchmarks: the one stand-in for a remote.

It plays an SMS gateway (sms tests, ``bench/gateways.py``) and a campaign data source
(campaigns tests, ``bench/pull_campaign.py``). Clients are tested by sending real requests
over a real socket: the server records every request (method, path, query, form or JSON body,
headers) and answers with scripted replies, in order, falling back to a handler that computes
the reply from the request, or to a default. A reply may be delayed (to make the client time
out) or be any status (500, 429...).

    with FakeHTTPServer() as gateway:
        gateway.script(Reply(200, "ID: abc123"))
        ...
        (request,) = gateway.requests
        assert request.params["to"] == "447911123456"

It lives in the package (not under tests/) so benchmarks and every app's tests share it.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from requests.structures import CaseInsensitiveDict


class _Server(ThreadingHTTPServer):
    # A listen backlog of 5 (the default) drops connections when 64 senders connect at once;
    # each dropped SYN costs the client a 1 s retransmission.
    request_queue_size = 256

    def handle_error(self, request, client_address):
        import sys

        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            return  # a client that went away (a killed worker, a time-out test): not news
        super().handle_error(request, client_address)


@dataclass
class Reply:
    status: int = 200
    body: str | bytes | dict | list = ""
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds to wait before answering (longer than the client's time-out = a time-out).
    delay: float = 0.0
    content_type: str = ""

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), self.content_type or "application/json"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), self.content_type or "text/plain; charset=utf-8"
        return self.body, self.content_type or "application/octet-stream"


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    #: Case-insensitive, as HTTP header names are.
    headers: CaseInsensitiveDict
    body: bytes

    @property
    def form(self) -> dict[str, list[str]]:
        if "application/x-www-form-urlencoded" in self.headers.get("content-type", ""):
            return parse_qs(self.body.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
        return {}

    @property
    def params(self) -> dict[str, str]:
        """Query string and form fields flattened to their last value (what a gateway reads)."""
        merged = {key: values[-1] for key, values in self.query.items()}
        merged.update({key: values[-1] for key, values in self.form.items()})
        return merged

    def json(self):
        return json.loads(self.body)


class FakeHTTPServer:
    def __init__(self, *, default: Reply | None = None, handler: Callable[[RecordedRequest], Reply] | None = None):
        self.requests: list[RecordedRequest] = []
        self.replies: deque[Reply] = deque()
        self.default = default or Reply(200, "")
        self.handler = handler
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- Scripting ------------------------------------------------------------------------

    def script(self, *replies: Reply) -> FakeHTTPServer:
        """Queue replies for the next requests, in order; then the handler or the default."""
        with self._lock:
            self.replies.extend(replies)
        return self

    def _reply_for(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self.replies:
                return self.replies.popleft()
        if self.handler:
            return self.handler(request)
        return self.default

    # --- Life cycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def gets(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "GET"]

    @property
    def posts(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST"]

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> FakeHTTPServer:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in one write: with two small writes, Nagle's algorithm and
            # the client's delayed ACK add ~40 ms to every keep-alive request.
            wbufsize = -1
            disable_nagle_algorithm = True

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = RecordedRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers=CaseInsensitiveDict(self.headers.items()),
                    body=body,
                )
                reply = gateway._reply_for(request)
                if reply.delay and gateway._stopping.wait(reply.delay):
                    return  # shutting down: drop the connection
                payload, content_type = reply.encoded()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a time-out test)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format, *args):  # keep test output clean
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeHTTPServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
