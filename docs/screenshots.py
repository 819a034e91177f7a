"""Take the README's screenshots (docs/*.png) of the demo data with Debian's Chromium.

    .venv/bin/python docs/screenshots.py

Builds the demo in a throwaway SQLite database (``load_demo``), serves it with ``runserver``
on a free port, logs in and captures the dashboard and the Stats page at desktop width.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [("dashboard.png", "/"), ("stats.png", "/stats/?range=7d"), ("stats-cost.png", "/stats/cost/?range=30d")]


def main() -> None:
    folder = tempfile.mkdtemp(prefix="texting-shots-")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder}/demo.sqlite3",
        "SMS_DEFAULT_BACKEND": "simulated",
        "MEDIA_ROOT": f"{folder}/media",
        "DEBUG": "true",
    }
    env.pop("CELERY_BROKER_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    subprocess.run([*manage, "load_demo", "--username", "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        [*manage, "shell", "-c", "from django.contrib.auth.models import User; u = User.objects.get(username='demo'); "
         "u.set_password('screenshots'); u.save()"],
        env=env, check=True,
    )  # fmt: skip
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310  (our own local server)
                break
            except OSError:
                time.sleep(0.2)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", "demo")
            page.fill("input[name=password]", "screenshots")
            page.click("button[type=submit], input[type=submit]")
            page.wait_for_url(f"{base}/")
            for name, path in PAGES:
                page.goto(base + path)
                page.screenshot(path=str(ROOT / "docs" / name), full_page=True)
                print(f"docs/{name}")
            browser.close()
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
