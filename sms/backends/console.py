"""Console backend: prints each text and marks it DEBUG. The default; nothing leaves the building."""

from __future__ import annotations

import sys
import threading

from sms.backends.base import BaseBackend, SendResult

_lock = threading.Lock()  # texts printed by concurrent sending threads never interleave


class ConsoleBackend(BaseBackend):
    slug = "console"
    name = "Console (prints texts, sends nothing)"
    debug = True

    def publish_message(self, message) -> SendResult:
        stream = self.options.get("stream", sys.stdout)
        with _lock:
            stream.write(
                f"--- SMS to {message.recipient} ({message.segments} segment(s), {message.encoding})\n"
                f"{message.content}\n"
            )
            stream.flush()
        return SendResult(message=message, external_id=f"console-{message.reference}")
