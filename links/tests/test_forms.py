"""{link} where staff write texts: the template check and preview, the compose form."""

import pytest

from campaigns.models import Template
from links.hook import TOKEN_LENGTH
from sms.models import OutboundMessage

pytestmark = pytest.mark.django_db

LINK_LENGTH = len("https://texting.example.com/l/") + TOKEN_LENGTH
TEMPLATE = {"name": "G", "slug": "g", "is_active": "on", "add_opt_out_footer": "on", "followup_delay_days": 2}


def preview(client, body, **fields):
    return client.post("/campaigns/templates/preview/", {**TEMPLATE, "body": body, "field": "body", **fields}).json()


def test_template_with_link_and_target_is_saved(staff_client):
    data = {**TEMPLATE, "body": "{name}, your offer: {link}", "link_url": "https://shop.example.com/offer"}
    assert staff_client.post("/campaigns/templates/new/", data).status_code == 302
    assert Template.objects.get().link_target() == {"url": "https://shop.example.com/offer"}


def test_template_with_link_needs_a_target(staff_client):
    response = staff_client.post("/campaigns/templates/new/", {**TEMPLATE, "body": "Offer: {link}"})
    assert response.status_code == 200 and "give the link target" in response.content.decode()
    assert not Template.objects.exists()


def test_follow_up_with_link_needs_a_target_too(staff_client):
    response = staff_client.post("/campaigns/templates/new/", {**TEMPLATE, "body": "Hi", "followup_body": "{link}"})
    assert "give the link target" in response.content.decode()


def test_without_public_url_the_template_check_says_so(staff_client, settings):
    settings.SMS_PUBLIC_URL = ""
    data = {**TEMPLATE, "body": "Offer: {link}", "link_url": "https://shop.example.com/offer"}
    response = staff_client.post("/campaigns/templates/new/", data)
    assert "SMS_PUBLIC_URL is not configured" in response.content.decode()
    result = preview(staff_client, "Offer: {link}", link_url="https://shop.example.com/offer")
    assert not result["ok"] and any("SMS_PUBLIC_URL is not configured" in e for e in result["errors"])


def test_preview_counts_the_links_real_length(staff_client):
    result = preview(staff_client, "Offer: {link}", link_url="https://shop.example.com/offer", add_opt_out_footer="")
    result_without = preview(staff_client, "Offer: ", add_opt_out_footer="", confirm_no_footer="on")
    assert result["ok"], result
    assert result["length"] == len("Offer: ") + LINK_LENGTH == result_without["length"] + LINK_LENGTH
    assert "https://texting.example.com/l/" in result["text"]


def test_a_link_pushes_the_preview_into_a_second_segment(staff_client):
    body = "x" * 120 + " {link}"  # 120 + 1 + 42 > 160: two parts, though "{link}" itself is 6
    result = preview(
        staff_client, body, link_url="https://shop.example.com/", add_opt_out_footer="", confirm_no_footer="on"
    )
    assert result["segments"] == 2


# --- compose ----------------------------------------------------------------------------------


def test_compose_needs_a_target_for_link(staff_client):
    response = staff_client.post("/sms/compose/", {"recipient": "07911 123001", "content": "Here: {link}"})
    assert response.status_code == 200 and "give the link target" in response.content.decode()
    assert not OutboundMessage.objects.exists()


def test_compose_without_public_url_says_so(staff_client, settings):
    settings.SMS_PUBLIC_URL = ""
    response = staff_client.post(
        "/sms/compose/",
        {"recipient": "07911 123001", "content": "Here: {link}", "link_url": "https://shop.example.com/"},
    )
    assert "SMS_PUBLIC_URL is not configured" in response.content.decode()
    assert not OutboundMessage.objects.exists()


def test_compose_target_without_placeholder_is_an_error(staff_client):
    response = staff_client.post(
        "/sms/compose/", {"recipient": "07911 123001", "content": "Here", "link_url": "https://shop.example.com/"}
    )
    assert "Put {link} in the text" in response.content.decode()


def test_compose_counter_is_given_a_link_of_the_real_length(staff_client):
    body = staff_client.get("/sms/compose/").content.decode()
    assert f'data-link-sample="https://texting.example.com/l/{"x" * TOKEN_LENGTH}"' in body
