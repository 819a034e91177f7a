"""Console backend: prints each text and marks it DEBUG. The default; nothing leaves the building."""

from __future__ import annotations

import sys

from sms.backends.base import BaseBackend, SendResult


class ConsoleBackend(BaseBackend):
    slug = "console"
    name = "Console (prints texts, sends nothing)"
    debug = True

    def publish_message(self, message) -> SendResult:
        stream = self.options.get("stream", sys.stdout)
        stream.write(
            f"--- SMS to {message.recipient} ({message.segments} segment(s), {message.encoding})\n{message.content}\n"
        )
        stream.flush()
        return SendResult(message=message, external_id=f"console-{message.reference}")
