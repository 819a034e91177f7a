import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Campaign, Template
from campaigns.tests.conftest import make_template
from sms import api

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"body": "Hi {nmae}"}, "body"),
        ({"body": "Hi {name", "extra_fields": ""}, "body"),
        ({"body": "Hi {}"}, "body"),
        ({"body": "Hi {name.upper}"}, "body"),
        ({"body": "Hi", "followup_body": "Still there {who}?"}, "followup_body"),
        ({"body": "Hi", "followup_alt_body": "{code}"}, "followup_alt_body"),
        ({"body": "Hi", "extra_fields": "city, bad-name"}, "extra_fields"),
    ],
)
def test_unknown_or_malformed_placeholders_are_validation_errors(fields, error_field):
    template = Template(name="G", slug="g", **fields)
    with pytest.raises(ValidationError) as info:
        template.full_clean()
    assert error_field in info.value.message_dict


def test_declared_extra_fields_and_literal_braces_are_fine():
    Template(name="G", slug="g", body="{greeting} {name}, {{promo}} in {city}", extra_fields="city").full_clean()


def test_footer_is_added_once_and_configurable(settings):
    template = make_template(body="Hi {name}")
    assert template.render_marketing({"name": "Ann"}) == "Hi Ann\nReply STOP to opt out"
    template.body = "Hi {name}. Reply STOP to opt out"
    assert template.render_marketing({"name": "Ann"}) == "Hi Ann. Reply STOP to opt out"
    template.opt_out_footer = "Text STOP to 60060"
    assert template.render_marketing({"name": "Ann"}).endswith("\nText STOP to 60060")
    template.add_opt_out_footer = False
    assert template.render_marketing({"name": "Ann"}) == "Hi Ann. Reply STOP to opt out"


def test_sender_id_falls_back_to_settings(settings):
    settings.CAMPAIGNS_SENDER_ID = "ACME"
    assert make_template().sender_id == "ACME"
    assert make_template(name="B", sender="Shop").sender_id == "Shop"


def test_send_template_fills_in_the_greeting():
    make_template(slug="promo", body="{greeting} {name}!")
    message = api.send_template("07450000001", "promo", {"name": "Ann"})
    assert message.content.endswith(" Ann!") and "{greeting}" not in message.content


def test_can_send_hook_from_settings(settings):
    settings.CAMPAIGNS_TEMPLATE_CAN_SEND = "campaigns.tests.test_models.refuse_all"
    template = make_template()
    assert template.can_send("+447450000001", {}) is False
    with pytest.raises(api.TemplateInactive):
        api.send_template("07450000001", template.slug, {"name": "x"})


def refuse_all(template, recipient, context):
    return False


def test_pause_and_resume_are_idempotent():
    campaign = Campaign.objects.create(name="c")
    assert campaign.pause(reason="x") and not campaign.pause(reason="y")
    assert campaign.paused_reason == "x"
    assert campaign.resume() and not campaign.resume()
    assert campaign.state == "running" and campaign.paused_reason == ""
