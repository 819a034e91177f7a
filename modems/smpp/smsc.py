"""The test SMSC (``modems/tests/smsc/smsc.js`` on npm's ``smpp`` package) as a Python object:
started on 127.0.0.1 with a free port, its events read from stdout, commands written to stdin.
Used by the SMPP tests and ``bench/smpp.py``. Its node modules come from ``make smsc``
(``npm ci`` in modems/tests/smsc).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent.parent / "tests" / "smsc"


def available() -> str:
    """ "" when the SMSC can run here, else why not."""
    if not shutil.which("node"):
        return "node is not installed"
    if not (DIRECTORY / "node_modules" / "smpp").is_dir():
        return "the SMSC's npm modules are missing: run `make smsc` (npm ci in modems/tests/smsc)"
    return ""


class SMSC:
    def __init__(self, **options):
        self.options = {"system_id": "texting", "password": "secret", **options}
        self.events: list[dict] = []
        self.cond = threading.Condition()
        self.process = subprocess.Popen(
            ["node", str(DIRECTORY / "smsc.js"), json.dumps(self.options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.port = self.wait_for(lambda e: e["event"] == "listening", timeout=15)["port"]

    def _read(self) -> None:
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.events.append(event)
                self.cond.notify_all()

    def wait_for(self, predicate, *, timeout: float = 10.0, count: int = 1):
        """The ``count``-th event matching ``predicate`` (waits for it)."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [e for e in self.events if predicate(e)]
                if len(found) >= count:
                    return found[count - 1]
                left = end - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise TimeoutError(f"SMSC event not seen ({len(found)} of {count})")
                self.cond.wait(min(left, 0.2))

    def of(self, kind: str) -> list[dict]:
        with self.cond:
            return [e for e in self.events if e["event"] == kind]

    def command(self, **command) -> None:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
