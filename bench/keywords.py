"""Keyword texts through the webhook under gunicorn, next to plain inbound texts.

Starts gunicorn (2 sync workers) on 127.0.0.1 with a fresh database, and posts texts to the
Clickatell inbound webhook (GET, shared secret) from a few client threads:

- plain: a reply to nobody in particular: stored, linked, left to the replies pipeline;
- keyword: ``ABC.UNICORN`` to our short code 567: routed to keyword ABC, whose handler (the
  demo's ``book_reward``) texts the customer back (one text queued), filed under "Misc".

Both go through the whole pipeline (inline steps and, without a broker, the deferred replies
step). Rounds alternate so both see the same machine. Target: keyword >= 0.8 x plain.

    python bench/keywords.py [TEXTS_PER_ROUND] [ROUNDS]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/texting_bench python bench/keywords.py
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = Path(tempfile.mkdtemp()) / "bench_keywords.sqlite3"
os.environ.setdefault("DATABASE_URL", f"sqlite:///{DB}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "texting.settings")
os.environ["LOG_LEVEL"] = "ERROR"
SECRET = "bench-secret"
GATEWAY_ENV = {
    "CLICKATELL_API_ID": "1",
    "CLICKATELL_USER": "u",
    "CLICKATELL_PASSWORD": "p",
    "CLICKATELL_WEBHOOK_SECRET": SECRET,
    "SMS_DEFAULT_BACKEND": "console",
    "CELERY_BROKER_URL": "",
    "DEBUG": "false",
    "SECRET_KEY": "bench-" + "x" * 50,
    "ALLOWED_HOSTS": "127.0.0.1",
}
os.environ.update(GATEWAY_ENV)

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.core.management import call_command  # noqa: E402

from keywords.models import Dispatch, Keyword, Number  # noqa: E402
from sms.models import InboundMessage  # noqa: E402

ids = itertools.count(1)
CLIENT_THREADS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare() -> None:
    call_command("migrate", verbosity=0)
    if os.environ["DATABASE_URL"].startswith("postgres"):
        InboundMessage.objects.all().delete()
        Keyword.objects.all().delete()
        Number.objects.all().delete()
    number = Number.objects.create(number="567", kind=Number.Kind.SHORT_CODE)
    keyword = Keyword(
        word="ABC",
        handler="keywords.handlers_demo.book_reward",
        reply_template="Claim it here: {link}",
        link_url="https://shop.example/claim",
    )
    keyword.full_clean()
    keyword.save()
    keyword.numbers.set([number])


def start_gunicorn(port: int) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "texting.settings"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "texting.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "error",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 90  # workers boot slowly on a busy machine
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            return process
        except requests.RequestException:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("gunicorn did not start")


def post_round(port: int, text: str, n: int) -> float:
    url = f"http://127.0.0.1:{port}/sms/inbound/clickatell/"
    local = threading.local()

    def one(i: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        session = local.session
        params = {
            "moMsgId": f"b{next(ids)}",
            "from": f"4479111{i % 90000:05d}",
            "to": "567",
            "text": text,
            "secret": SECRET,
        }
        response = session.get(url, params=params, timeout=30)
        assert response.status_code == 200, (response.status_code, response.text[:200])

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        list(pool.map(one, range(n)))
    return n / (time.perf_counter() - started)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    prepare()
    port = free_port()
    server = start_gunicorn(port)
    try:
        post_round(port, "warm up", 20)
        rates = {"plain": [], "keyword": []}
        for _ in range(rounds):
            rates["plain"].append(post_round(port, "Thanks, see you on Friday", n))
            rates["keyword"].append(post_round(port, "ABC.UNICORN", n))
    finally:
        server.terminate()
        server.wait(timeout=10)
    routed = Dispatch.objects.filter(routed_by="keyword:ABC", state="done").count()
    assert routed == n * rounds, f"{routed} keyword texts handled, expected {n * rounds}"
    plain, keyword = max(rates["plain"]), max(rates["keyword"])
    engine = os.environ["DATABASE_URL"].split(":", 1)[0]
    print(f"gunicorn 2 workers, {engine}, {CLIENT_THREADS} client threads, {rounds} rounds of {n} texts (best round):")
    print(f"  plain inbound texts : {plain:7.1f} texts/s   (rounds: {', '.join(f'{r:.0f}' for r in rates['plain'])})")
    print(
        f"  keyword texts       : {keyword:7.1f} texts/s   (rounds: {', '.join(f'{r:.0f}' for r in rates['keyword'])})"
    )
    print(f"  ratio keyword/plain : {keyword / plain:.2f}  (target >= 0.80; each keyword text also queues its answer)")


if __name__ == "__main__":
    main()
