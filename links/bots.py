"""Who opens a link: a person, or a machine fetching it for a preview (or a crawler).

Chat apps fetch a link as soon as it is pasted or received to draw a preview card; counting
those as clicks would make every shared text look opened. A fetcher is recognised by its user
agent (the common ones below, plus ``LINKS_BOT_USER_AGENTS``), by a HEAD request (people's
browsers never open a page with HEAD) or by a prefetch header.
"""

from __future__ import annotations

import re
from functools import cache

from django.conf import settings
from django.http import HttpRequest

#: Substrings of the user agents of link-preview fetchers and crawlers (case-insensitive).
KNOWN = (
    "facebookexternalhit",  # Facebook, Messenger; Apple's iMessage previews send it too
    "facebot",
    "facebookcatalog",
    "whatsapp",
    "twitterbot",
    "slackbot",  # Slackbot-LinkExpanding
    "slack-imgproxy",
    "telegrambot",
    "discordbot",
    "googlebot",
    "google-inspectiontool",
    "googleother",
    "adsbot-google",
    "mediapartners-google",
    "applebot",
    "bingbot",
    "bingpreview",
    "linkedinbot",
    "skypeuripreview",  # Skype and Microsoft Teams
    "pinterestbot",
    "redditbot",
    "embedly",
    "iframely",
    "vkshare",
    "yandexbot",
    "duckduckbot",
    "baiduspider",
    "petalbot",
    "mattermost",
    "zoominfobot",
    "headlesschrome",  # scripted browsers (scrapers, security scanners)
    "python-requests",
    "curl/",
    "wget/",
    "go-http-client",
)
#: Any user agent announcing itself as a bot, crawler, spider or preview fetcher.
GENERIC = r"\bbot\b|bot/|crawler|spider|preview"


@cache
def _pattern(extra: tuple[str, ...]) -> re.Pattern:
    words = [re.escape(word.lower()) for word in (*KNOWN, *extra) if word]
    return re.compile("|".join([*words, GENERIC]))


def is_bot_user_agent(user_agent: str) -> bool:
    """True for an empty user agent or one of a known fetcher or crawler."""
    if not user_agent.strip():
        return True
    return bool(_pattern(tuple(settings.LINKS_BOT_USER_AGENTS)).search(user_agent.lower()))


def is_bot(request: HttpRequest) -> bool:
    if request.method == "HEAD":
        return True
    purpose = (request.headers.get("Sec-Purpose") or request.headers.get("Purpose") or "").lower()
    if "prefetch" in purpose or "preview" in request.headers.get("X-Purpose", "").lower():
        return True
    return is_bot_user_agent(request.headers.get("User-Agent", ""))
