"""Demo clicks: some of the demo's recipients opened the link in their text (some twice, a day
later), and a chat app's preview fetched a few links when they were shared.

Loaded after the campaigns demo (``ORDER``), whose "Loyal customers" text carries ``{link}``:
only delivered texts are clicked, each click after its delivery and before now. Skipped when
clicks exist.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from links.models import Click, Link
from links.services import record_click
from sms.models import State

#: After the campaigns demo (load_demo sorts demo modules by ORDER, default 0).
ORDER = 20

PHONES = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0 Mobile Safari/537.36",
]
PREVIEWS = ["WhatsApp/2.24.8.78 A", "facebookexternalhit/1.1 Facebot Twitterbot/1.0"]


def load(stdout) -> None:
    if Click.objects.exists():
        stdout.write("links: demo clicks already present, skipped")
        return
    rng = random.Random(23)
    now = timezone.now()
    links = list(
        Link.objects.filter(message__state=State.DELIVERED, message__delivered_at__isnull=False)
        .select_related("message")
        .order_by("pk")
    )
    people = bots = 0
    for index, link in enumerate(links):
        delivered = link.message.delivered_at
        if index % 3 == 1:  # shared in a chat: the app fetched a preview
            record_click(link, user_agent=rng.choice(PREVIEWS), is_bot=True, at=delivered + timedelta(minutes=3))
            bots += 1
        if index % 5 in (0, 1, 3):  # three in five opened it, most within the hour
            first = delivered + timedelta(minutes=rng.choice([2, 5, 9, 20, 45, 130]))
            times = [first] + ([first + timedelta(days=1, hours=rng.randint(0, 5))] if index % 4 == 0 else [])
            for at in (t for t in times if t < now):
                record_click(link, user_agent=PHONES[index % len(PHONES)], is_bot=False, at=at)
                people += 1
    stdout.write(f"links: {len(links)} delivered links, {people} clicks by recipients, {bots} link previews")
