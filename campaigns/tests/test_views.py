import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns import pull
from campaigns.fanout import SourceRow, create_campaign
from campaigns.models import Campaign, PullRun, RejectedRow, Template
from campaigns.tests.conftest import make_template
from sms.dispatch import dispatch
from sms.models import OutboundMessage
from sms.testing import assert_staff_only, create_inbound

pytestmark = pytest.mark.django_db

GET_PAGES = [
    "/campaigns/",
    "/campaigns/new/",
    "/campaigns/upload/",
    "/campaigns/{campaign}/",
    "/campaigns/pulls/{run}/",
    "/campaigns/templates/",
    "/campaigns/templates/new/",
    "/campaigns/templates/{template}/",
]
POST_PAGES = [
    "/campaigns/{campaign}/pause/",
    "/campaigns/{campaign}/resume/",
    "/campaigns/{campaign}/abort/",
    "/campaigns/pull/",
    "/campaigns/templates/preview/",
]


@pytest.fixture
def objects():
    template = make_template()
    campaign, _ = create_campaign(name="Spring", source="manual", rows=[SourceRow("Group A", "07450000001", "Ann")])
    run = PullRun.objects.create(state=PullRun.State.SUCCEEDED)
    return {"campaign": campaign.pk, "run": run.pk, "template": template.pk}


def test_every_page_and_write_is_staff_only_and_changes_nothing(client, plain_user, objects):
    requests = [("get", url.format(**objects)) for url in GET_PAGES]
    requests += [("post", url.format(**objects)) for url in POST_PAGES]
    assert_staff_only(client, plain_user, requests)
    assert Campaign.objects.get().state == "running"
    assert PullRun.objects.count() == 1


@pytest.mark.parametrize("url", GET_PAGES)
def test_staff_see_every_page(staff_client, objects, url):
    assert staff_client.get(url.format(**objects)).status_code == 200


@pytest.mark.parametrize("url", POST_PAGES[:4])
def test_writes_need_post(staff_client, objects, url):
    assert staff_client.get(url.format(**objects)).status_code == 405


def test_list_shows_progress_and_pins_its_query_count(staff_client):
    make_template()
    for i in range(3):
        create_campaign(name=f"C{i}", source="manual", rows=[SourceRow("Group A", f"0745000000{i}", "A")])
    dispatch()
    first = OutboundMessage.objects.first()
    create_inbound(first.recipient, "Thanks", in_reply_to=first)
    staff_client.get("/campaigns/")
    with CaptureQueriesContext(connection) as ctx:
        response = staff_client.get("/campaigns/")
    few = len(ctx)
    for i in range(3, 8):
        create_campaign(name=f"C{i}", source="manual", rows=[SourceRow("Group A", f"0745000000{i}", "A")])
    with CaptureQueriesContext(connection) as ctx:
        staff_client.get("/campaigns/")
    assert len(ctx) == few <= 12  # page, roll-up counts (outbound + inbound, 2 each), refresh_states
    html = response.content.decode()
    assert "C2" in html and 'aria-label="Sent"' in html
    assert response.context["campaigns"][0].n_sent == 1


def test_detail_shows_groups_rejections_replies_and_delivery_rate(staff_client):
    make_template()
    campaign, _ = create_campaign(
        name="Spring",
        source="manual",
        rows=[SourceRow("Group A", "07450000001", "Ann"), SourceRow("Group A", "12", "Bad")],
    )
    dispatch()
    message = OutboundMessage.objects.get()
    message.mark_delivered()
    create_inbound(message.recipient, "Thanks", in_reply_to=message)
    response = staff_client.get(f"/campaigns/{campaign.pk}/")
    html = response.content.decode()
    assert 'data-group="Group A"' in html
    assert "Invalid number" in html and "not a valid number" in html
    assert response.context["delivery_rate"] == 100.0
    assert response.context["replies"] == [("Not classified yet", 1)]


def test_pause_resume_abort_buttons(staff_client, objects):
    pk = objects["campaign"]
    response = staff_client.post(f"/campaigns/{pk}/pause/", follow=True)
    assert Campaign.objects.get().state == "paused" and "Campaign paused." in response.content.decode()
    response = staff_client.post(f"/campaigns/{pk}/resume/", follow=True)
    assert Campaign.objects.get().state == "running" and "Campaign resumed." in response.content.decode()
    response = staff_client.post(f"/campaigns/{pk}/abort/", follow=True)
    assert Campaign.objects.get().state == "aborted"
    assert "Campaign aborted." in response.content.decode() and "abortd" not in response.content.decode()
    assert OutboundMessage.objects.get().state == "aborted"


def test_manual_campaign_from_pasted_numbers(staff_client):
    template = make_template()
    response = staff_client.post(
        "/campaigns/new/",
        {"name": "By hand", "template": template.pk, "numbers": "07450000001, Ann\n07450000002\tBo\n\n123\n"},
    )
    campaign = Campaign.objects.get(name="By hand")
    assert response["Location"] == campaign.get_absolute_url()
    assert campaign.messages.count() == 2 and campaign.source == "manual"
    assert RejectedRow.objects.get().reason == "invalid_number"


@pytest.mark.parametrize(
    ("filename", "content", "with_template"),
    [
        ("c.csv", "number,name,group\n07450000001,Ann,Group A\n07450000002,Bo,Group A\n", False),
        ("c.csv", "07450000001,Ann\n07450000002,Bo\n", True),
        ("c.json", json.dumps({"Group A": [["07450000001", "Ann"], {"number": "07450000002", "name": "Bo"}]}), False),
    ],
)
def test_upload_csv_or_json(staff_client, filename, content, with_template):
    template = make_template()
    upload = io.BytesIO(content.encode())
    upload.name = filename
    data = {"name": "Uploaded", "file": upload}
    if with_template:
        data["template"] = template.pk
    response = staff_client.post("/campaigns/upload/", data)
    assert response.status_code == 302, response.content
    assert Campaign.objects.get(name="Uploaded").messages.count() == 2


def test_upload_of_broken_json_shows_the_error(staff_client):
    make_template()
    upload = io.BytesIO(b"{broken")
    upload.name = "c.json"
    response = staff_client.post("/campaigns/upload/", {"name": "x", "file": upload})
    assert response.status_code == 200 and "not valid JSON" in response.content.decode()


def test_template_editor_rejects_unknown_placeholders(staff_client):
    response = staff_client.post(
        "/campaigns/templates/new/",
        {
            "name": "G",
            "slug": "g",
            "is_active": "on",
            "body": "Hi {nmae}",
            "add_opt_out_footer": "on",
            "followup_delay_days": 2,
        },
    )
    assert response.status_code == 200
    assert "Unknown placeholder {nmae}" in response.content.decode()
    assert not Template.objects.exists()


def test_template_editor_saves_and_footer_needs_confirmation_to_remove(staff_client):
    data = {"name": "G", "slug": "g", "is_active": "on", "body": "Hi {name}", "followup_delay_days": 1.5}
    response = staff_client.post("/campaigns/templates/new/", data)
    assert "Tick this to send without the opt-out footer" in response.content.decode()
    response = staff_client.post("/campaigns/templates/new/", {**data, "confirm_no_footer": "on"})
    assert response.status_code == 302
    template = Template.objects.get()
    assert not template.add_opt_out_footer and template.followup_delay.total_seconds() == 1.5 * 86400


def test_preview_endpoint_counts_segments_with_footer(staff_client):
    body = "{greeting} {name}! " + "x" * 110
    response = staff_client.post(
        "/campaigns/templates/preview/", {"body": body, "add_opt_out_footer": "on", "field": "body", "name": "G"}
    )
    data = response.json()
    assert data["ok"] and data["encoding"] == "GSM-7"
    assert data["text"].endswith("Reply STOP to opt out")
    assert data["segments"] == 1
    assert any("segments instead of 1" in w for w in data["warnings"])


def test_preview_endpoint_reports_unicode_and_errors(staff_client):
    data = staff_client.post("/campaigns/templates/preview/", {"body": "Cześć {name} 😀", "field": "body"}).json()
    assert data["encoding"] == "UCS-2"
    data = staff_client.post("/campaigns/templates/preview/", {"body": "Hi {who}", "field": "body"}).json()
    assert not data["ok"] and "Unknown placeholder {who}" in data["errors"][0]


@pytest.mark.django_db(transaction=True)
def test_pull_now_runs_in_the_background_and_page_polls(staff_client, data_source, settings):
    settings.CAMPAIGNS_PULL_IN_BACKGROUND = True
    make_template()
    data_source.answer({"Group A": [["07450000001", "Ann"]]})
    pull.threads.clear()
    response = staff_client.post("/campaigns/pull/")
    run = PullRun.objects.get()
    assert response["Location"] == run.get_absolute_url()
    assert [t.name for t in pull.threads] == [f"pull-{run.pk}"]
    for thread in pull.threads:
        thread.join(10)
    status = staff_client.get(f"/campaigns/pulls/{run.pk}/?format=json").json()
    assert status["state"] == "succeeded" and status["queued"] == 1 and status["finished"]


def test_template_list_pins_its_query_count(staff_client):
    make_template()
    staff_client.get("/campaigns/templates/")
    with CaptureQueriesContext(connection) as ctx:
        staff_client.get("/campaigns/templates/")
    few = len(ctx)
    for i in range(5):
        make_template(name=f"G{i}")
    with CaptureQueriesContext(connection) as ctx:
        response = staff_client.get("/campaigns/templates/")
    assert len(ctx) == few
    assert "G4" in response.content.decode()


def test_scheduled_campaign_starts_running_when_its_time_comes():
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.control import refresh_states

    make_template()
    campaign, _ = create_campaign(
        name="Later",
        source="manual",
        rows=[SourceRow("Group A", "07450000001", "Ann")],
        scheduled_for=timezone.now() + timedelta(hours=1),
    )
    assert campaign.state == "scheduled"
    assert OutboundMessage.objects.due().count() == 0
    refresh_states(now=timezone.now() + timedelta(hours=2))
    campaign.refresh_from_db()
    assert campaign.state == "running"


# --- What a new user trips over (QA walk-through) ------------------------------------------


def test_without_a_data_source_pull_now_is_off_and_says_what_to_set(staff_client, settings):
    settings.TEXTING_API_URL = ""
    page = staff_client.get("/campaigns/").content.decode()
    assert 'id="no-source"' in page and "TEXTING_API_URL" in page
    assert "disabled" in page.split("Pull now")[0].rsplit("<button", 1)[1]
    settings.CAMPAIGNS_PULL_IN_BACKGROUND = False
    response = staff_client.post("/campaigns/pull/", follow=True)  # an old tab still posts
    assert 'id="source-hint"' in response.content.decode()
    settings.TEXTING_API_URL = "http://127.0.0.1:9/source"
    assert 'id="no-source"' not in staff_client.get("/campaigns/").content.decode()


def test_new_and_upload_pages_say_a_template_is_needed_first(staff_client):
    for url in ("/campaigns/new/", "/campaigns/upload/"):
        assert 'id="no-templates"' in staff_client.get(url).content.decode()
    make_template()
    for url in ("/campaigns/new/", "/campaigns/upload/"):
        assert 'id="no-templates"' not in staff_client.get(url).content.decode()
    assert "number,name,group" in staff_client.get("/campaigns/upload/").content.decode()


def test_detail_says_when_waiting_texts_go_out_and_draws_replies_by_type(staff_client, settings):
    from datetime import timedelta

    from django.utils import timezone

    make_template()
    later = timezone.now() + timedelta(days=1)
    campaign, _ = create_campaign(
        name="Later", source="manual", rows=[SourceRow("Group A", "07450000001", "Ann")], scheduled_for=later
    )
    page = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="next-due"' in page and timezone.localtime(later).strftime("%H:%M") in page
    assert "Notifications to the source" not in page  # only pulled campaigns report back
    assert "text-bg-info" in page  # scheduled: the same colour as on the list
    campaign.pause(reason="Checking the offer")
    assert "held while paused" in staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()

    now, _ = create_campaign(name="Now", source="manual", rows=[SourceRow("Group A", "07450000002", "Bo")])
    dispatch()
    inbound = create_inbound("+447450000002", "Thanks!", in_reply_to=now.messages.get())
    page = staff_client.get(f"/campaigns/{now.pk}/").content.decode()
    assert 'id="replies-by-type"' in page and f"?campaign={now.pk}" in page
    from replies.models import Reply, ReplyType

    thanks = ReplyType.objects.get(slug="thanks")
    Reply.objects.create(message=inbound, reply_type=thanks, source="staff", needs_review=False)
    page = staff_client.get(f"/campaigns/{now.pk}/").content.decode()
    assert f"background: {thanks.colour}" in page  # the bar wears the reply type's colour


def test_template_list_shows_the_follow_up_delay_in_words(staff_client):
    from datetime import timedelta

    make_template(followup_body="{name}, still time!", followup_delay=timedelta(days=1, hours=6))
    page = staff_client.get("/campaigns/templates/").content.decode()
    assert "after 1 day 6 hours" in page and "0:00" not in page
