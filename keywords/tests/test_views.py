"""The keyword pages: lists with counts (query counts pinned), forms, the test box, denial."""

import pytest

from keywords import testing
from keywords.models import BrokerProvider, Keyword, StandardWords
from keywords.testing import create_keyword, create_number, receive
from sms.models import InboundMessage, OutboundMessage
from sms.testing import assert_staff_only

pytestmark = pytest.mark.django_db


def _some_keywords(n: int):
    numbers = [create_number(str(500 + i)) for i in range(3)]
    for i in range(n):
        create_keyword(f"K{i}", numbers=numbers[: i % 3], reply_template="hi")
    numbers[0].catch_all = Keyword.objects.first()
    numbers[0].save()


@pytest.mark.parametrize("n", [1, 6])
def test_the_index_lists_keywords_and_numbers_with_counts_in_fixed_queries(staff_client, django_assert_num_queries, n):
    _some_keywords(n)
    receive("K0 hello", to="500")
    receive("STOP", to="500")
    # The same for 1 or 6 keywords: the counts are aggregated, never one query per row.
    with django_assert_num_queries(8):
        response = staff_client.get("/keywords/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "K0" in body and "500" in body and "Opt-outs (STOP…): 1 today" in body


def test_the_keyword_page_shows_texts_health_and_chart_in_fixed_queries(staff_client, django_assert_num_queries):
    keyword = create_keyword("ABC", handler="keywords.testing.scripted")
    testing.script[:] = ["raise"]
    receive("ABC.X")  # waits for a retry
    for i in range(3):
        receive(f"ABC.{i}")
    from django.apps import apps

    # + the links app's click-through of the replies, when installed
    with django_assert_num_queries(9 + apps.is_installed("links")):
        response = staff_client.get(f"/keywords/{keyword.pk}/")
    body = response.content.decode()
    assert response.status_code == 200 and "<svg" in body
    assert "the shop is down" in body and "1 waiting for a retry" in body
    assert body.count("ABC.") >= 3
    assert ('id="link-clicks"' in body) == apps.is_installed("links")


def test_the_test_box_explains_and_sends_nothing(staff_client):
    create_number("567")
    create_keyword("ABC", handler="keywords.testing.reward", reply_template="Thanks for {argument}")
    response = staff_client.get("/keywords/", {"text": "abc.unicorn", "number": "567"})
    body = response.content.decode()
    assert "Routed by keyword:ABC" in body and "keywords.testing.reward(message, &#x27;unicorn&#x27;)" in body
    assert "Thanks for unicorn" in body
    assert (
        "is not one of our numbers" in staff_client.get("/keywords/", {"text": "ABC", "number": "999"}).content.decode()
    )
    assert "STOP word" in staff_client.get("/keywords/", {"text": "Stop!", "number": "567"}).content.decode()
    assert not InboundMessage.objects.exists() and not OutboundMessage.objects.exists() and testing.calls == []


def test_creating_a_keyword_refuses_stop_with_a_clear_message(staff_client):
    response = staff_client.post("/keywords/new/", {"word": "stop", "is_active": "on", "per_contact_limit": 0})
    assert response.status_code == 200 and "can never take the place of an opt-out" in response.content.decode()
    response = staff_client.post(
        "/keywords/new/", {"word": "join", "is_active": "on", "per_contact_limit": 0, "reply_template": "Welcome"}
    )
    keyword = Keyword.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/keywords/{keyword.pk}/"
    assert keyword.word == "JOIN"


def test_the_standard_words_are_edited_and_reset(staff_client, settings):
    page = staff_client.get("/keywords/words/").content.decode()
    assert settings.REPLIES_HELP_TEXT in page  # the environment's, until saved
    data = {"opt_out_words": "STOP, ARRET", "opt_in_words": "START", "help_words": "AIDE", "help_text": "Aide: 0800"}
    assert staff_client.post("/keywords/words/", data).status_code == 302
    assert StandardWords.objects.get().help_text == "Aide: 0800"
    receive("aide")
    assert OutboundMessage.objects.get().content == "Aide: 0800"
    assert staff_client.post("/keywords/words/reset/").status_code == 302
    assert not StandardWords.objects.exists()
    assert receive("help").routed_by == "help"


def test_a_new_broker_s_secret_is_shown_once_and_stored_hashed(staff_client):
    data = {
        "name": "Agg",
        "slug": "agg",
        "origin_field": "origin",
        "text_field": "text",
        "destination_field": "destination",
        "is_active": "on",
    }
    response = staff_client.post("/keywords/providers/new/", data, follow=True)
    shown = next(str(m) for m in response.context["messages"] if "Secret of" in str(m))
    secret = shown.split(": ")[1].split(" ")[0]
    provider = BrokerProvider.objects.get()
    assert provider.check_secret(secret) and secret not in provider.secret_hash
    assert "/sms/notification/agg/" in staff_client.get("/keywords/providers/").content.decode()
    staff_client.post(f"/keywords/providers/{provider.pk}/", {**data, "name": "Agg 2"})
    provider.refresh_from_db()
    assert provider.name == "Agg 2" and provider.check_secret(secret)  # kept when left empty


def test_numbers_are_added_from_the_page(staff_client):
    response = staff_client.post("/keywords/numbers/new/", {"number": "+567", "kind": "short_code", "name": "Shop"})
    assert response.status_code == 302
    assert staff_client.get("/keywords/").content.decode().count("567") >= 1


def test_pages_are_staff_only(client, plain_user):
    keyword = create_keyword("ABC", reply_template="x")
    urls = ["/keywords/", f"/keywords/{keyword.pk}/", "/keywords/new/", "/keywords/words/", "/keywords/providers/"]
    assert_staff_only(client, plain_user, [("get", url) for url in urls] + [("post", "/keywords/words/reset/")])
    assert Keyword.objects.count() == 1
