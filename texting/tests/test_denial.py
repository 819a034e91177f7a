"""Every page and every write of ours is for staff only, found by walking the URLconf.

A view added without thinking about access is caught here: anonymous users are sent to the
login page and logged-in non-staff users get 403, for GET and POST alike, before the view runs
(so no object needs to exist). Public views are an explicit list: adding one is a decision.
"""

import re

import pytest
from django.urls import URLResolver, get_resolver

PUBLIC = {
    "healthz",  # load balancer health check
    "login/",
    "sms/inbound/<slug:backend>/",  # gateway webhooks: authenticated by signature or shared secret
    "sms/status/<slug:backend>/",
    "l/<path:token>",  # per-recipient links: the token is the credential; reveals nothing else
}
# Django's admin has its own login; a non-staff user must be able to log out.
SKIPPED_NAMESPACES = {"admin"}
SKIPPED = {"logout/"}


def _routes(patterns, prefix="", namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace)
        elif namespace not in SKIPPED_NAMESPACES:
            yield prefix + str(pattern.pattern), pattern.callback


def _example_url(route: str) -> str:
    """A concrete URL for a route: converters get a plausible value, regex groups their first option."""
    url = re.sub(r"<int:\w+>", "1", route)
    url = re.sub(r"<(?:slug|str|path):\w+>", "x", url)
    url = re.sub(r"\(\?P<\w+>\[0-9\]\+\)", "1", url)
    url = re.sub(r"\(\?P<\w+>(\w+)[^)]*\)", r"\1", url)
    return "/" + url.replace("^", "").replace("$", "")


ROUTES = {route: view for route, view in _routes(get_resolver().url_patterns)}
PROTECTED = sorted(_example_url(route) for route in ROUTES if route not in PUBLIC | SKIPPED)


def test_the_public_views_are_exactly_the_listed_ones():
    public = {route for route, view in ROUTES.items() if not getattr(view, "login_required", True)}
    assert public == PUBLIC


def test_every_app_has_protected_pages():
    for prefix in ("/sms/", "/campaigns/", "/replies/", "/modems/"):
        assert any(url.startswith(prefix) for url in PROTECTED), prefix
    assert "/campaigns/1/pause/" in PROTECTED


@pytest.mark.parametrize("url", PROTECTED)
def test_anonymous_users_are_sent_to_login(client, url):
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("url", PROTECTED)
def test_non_staff_users_are_refused(client, plain_user, url):
    client.force_login(plain_user)
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403


def test_a_non_staff_user_can_still_log_out(client, plain_user):
    client.force_login(plain_user)
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
