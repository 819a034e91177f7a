"""One length limit everywhere (Compose's 1,600 characters) and the same segments warning."""

import pytest

from campaigns.fanout import SourceRow, create_campaign
from campaigns.models import RejectedRow, Template
from campaigns.preview import preview
from campaigns.tests.conftest import make_template
from sms.encoding import MAX_LENGTH
from sms.forms import ComposeForm

pytestmark = pytest.mark.django_db


def form_data(body):
    return {
        "name": "G",
        "slug": "g",
        "is_active": "on",
        "body": body,
        "followup_delay_days": "2",
        "add_opt_out_footer": "on",
    }


def test_a_5000_character_template_is_refused_like_compose(staff_client):
    response = staff_client.post("/campaigns/templates/new/", form_data("x" * 5000))
    assert response.status_code == 200 and not Template.objects.exists()
    assert "Too long: 5,0" in response.content.decode() and "at most 1,600" in response.content.decode()
    compose = ComposeForm({"recipient": "+447911123001", "content": "x" * 5000})
    assert not compose.is_valid() and compose.fields["content"].max_length == MAX_LENGTH


def test_the_limit_counts_the_footer():
    footer = "\nReply STOP to opt out"
    fits = Template(name="A", slug="a", body="x" * (MAX_LENGTH - len(footer)))
    fits.clean()
    over = Template(name="B", slug="b", body="x" * (MAX_LENGTH - len(footer) + 1))
    with pytest.raises(Exception, match="Too long"):
        over.clean()


def test_the_preview_refuses_too_long_and_warns_about_segments(greeting_rules):
    too_long = preview(template=Template(name="A", slug="a", body="x" * 2000))
    assert not too_long["ok"] and any("Too long" in e for e in too_long["errors"])
    three = preview(template=Template(name="A", slug="a", body="Hi {name}, " + "x" * 400))
    assert three["ok"] and "3 segments (GSM-7): each recipient is charged 3 texts." in three["warnings"]
    near = preview(template=Template(name="A", slug="a", body="Hi {name}, " + "x" * 1555))
    assert near["ok"] and any("over the 1,600-character limit" in w for w in near["warnings"])


def test_a_row_whose_values_make_the_text_too_long_is_rejected_not_sent():
    make_template(body="Hi {name}, {note}", extra_fields="note")
    rows = [
        SourceRow("Group A", "07450000001", "Ann", extra={"note": "short"}),
        SourceRow("Group A", "07450000002", "Bo", extra={"note": "y" * 1700}),
    ]
    campaign, result = create_campaign(name="Notes", source="manual", rows=rows)
    assert result.queued == 1
    rejected = RejectedRow.objects.get()
    assert rejected.reason == RejectedRow.Reason.TOO_LONG and "at most 1,600" in rejected.detail
    assert list(campaign.recipients.values_list("number", flat=True)) == ["+447450000001"]


def test_the_campaign_page_warns_about_long_texts(staff_client):
    make_template(body="Hi {name}, " + "x" * 300)
    campaign, _ = create_campaign(name="Long", source="manual", rows=[SourceRow("Group A", "07450000001", "Ann")])
    html = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "about 3.0 segments a text: each recipient is charged as many" in html
