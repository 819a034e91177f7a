"""The template editor's live preview in real Chromium."""

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def page(staff_page):
    return staff_page


def test_preview_updates_as_staff_type(page, live_server):
    from campaigns.tests.conftest import seed_greetings

    seed_greetings()
    page.goto(f"{live_server.url}/campaigns/templates/new/")
    page.fill("textarea[name=body]", "Hi {name}, spring sale!")
    page.wait_for_function("document.getElementById('preview-text').textContent.includes('Monica')")
    assert page.text_content("#preview-text") == "Hi Monica, spring sale!\nReply STOP to opt out"
    assert page.text_content("#preview-encoding") == "GSM-7"
    assert page.text_content("#preview-segments") == "1 segment"

    page.fill("textarea[name=body]", "Hi {name}, " + "a" * 125)
    page.wait_for_function("document.getElementById('preview-warnings').children.length > 0")
    assert "segments instead of 1" in page.text_content("#preview-warnings")

    page.fill("textarea[name=body]", "Cześć {name} 🎉")
    page.wait_for_function("document.getElementById('preview-encoding').textContent === 'UCS-2'")

    page.fill("textarea[name=body]", "Hi {nmae}")
    page.wait_for_function("document.getElementById('preview-errors').textContent.includes('{nmae}')")

    # Unticking the footer changes the count at once.
    page.fill("textarea[name=body]", "Hi {name}")
    page.wait_for_function("document.getElementById('preview-text').textContent.includes('STOP')")
    page.uncheck("input[name=add_opt_out_footer]")
    page.wait_for_function("document.getElementById('preview-text').textContent === 'Hi Monica'")
    page.wait_for_timeout(300)  # let the last debounced preview request finish before teardown
    page.wait_for_load_state("networkidle")


def test_upload_of_a_mac_csv_and_of_an_unknown_header_with_column_mapping(page, live_server):
    from campaigns.models import Campaign
    from campaigns.tests.conftest import make_template

    make_template()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/campaigns/upload/")
    page.fill("input[name=name]", "Mac export")
    mac = b"number,name,group\r07450000001,Ann,Group A\r07450000002,Bo,Group A\r"
    page.set_input_files("input[name=file]", files=[{"name": "mac.csv", "mimeType": "text/csv", "buffer": mac}])
    page.click("button:has-text('Create and queue')")
    page.wait_for_url("**/campaigns/*/")
    assert Campaign.objects.get(name="Mac export").messages.count() == 2

    page.goto(f"{live_server.url}/campaigns/upload/")
    page.fill("input[name=name]", "Binary")
    page.set_input_files(
        "input[name=file]", files=[{"name": "x.csv", "mimeType": "text/csv", "buffer": bytes(range(256)) * 4}]
    )
    page.click("button:has-text('Create and queue')")
    page.wait_for_load_state()
    assert "looks like a binary file" in page.content()

    page.fill("input[name=name]", "Mapped")
    page.select_option("select[name=template]", index=1)
    odd = b"Kontakt,Handy\nCy,07450000003\n"
    page.set_input_files("input[name=file]", files=[{"name": "odd.csv", "mimeType": "text/csv", "buffer": odd}])
    page.click("button:has-text('Create and queue')")
    page.locator("#mapping-needed").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("select[name=role]").nth(1).input_value() == "number"
    page.click("#mapping-form button[type=submit]")
    page.wait_for_url("**/campaigns/*/")
    assert Campaign.objects.get(name="Mapped").messages.get().recipient == "+447450000003"


def test_big_campaign_is_held_with_its_estimate_then_resumed_and_aborted_on_a_phone(page, live_server, settings):
    from campaigns.models import Campaign
    from campaigns.tests.conftest import make_template
    from modems.testing import create_sim

    settings.SMS_ROUTER = "campaigns.routing.campaign_router"
    settings.CAMPAIGNS_INNER_ROUTER = "modems.routing.sim_router"
    settings.MODEMS_RESERVED_SHARE = 0.1
    create_sim(daily_limit=10)
    make_template()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/campaigns/new/")
    page.fill("input[name=name]", "Too big")
    page.select_option("select[name=template]", index=1)
    page.fill("textarea[name=numbers]", "\n".join(f"074500{i:05d},P{i}" for i in range(30)))
    page.click("button:has-text('Create and queue')")
    page.wait_for_url("**/campaigns/*/")
    assert "held for review" in page.content()
    assert "about 4 days at today's limits" in page.text_content("#estimate")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("button:has-text('Resume')")
    page.wait_for_load_state()
    assert "Campaign resumed." in page.content()
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Abort')")
    page.wait_for_load_state()
    assert "Campaign aborted." in page.content()
    assert page.text_content("[data-failed]") == "0"
    assert "30 aborted, never sent" in page.text_content("#aborted-count")
    assert Campaign.objects.get().state == Campaign.State.ABORTED


def test_template_editor_shows_the_length_limit_and_segments_warning(page, live_server):
    from campaigns.models import Template
    from campaigns.tests.conftest import seed_greetings

    seed_greetings()
    page.goto(f"{live_server.url}/campaigns/templates/new/")
    page.fill("textarea[name=body]", "Hi {name}, " + "x" * 400)
    page.wait_for_function("document.getElementById('preview-warnings').textContent.includes('3 segments')")
    assert "each recipient is charged 3 texts" in page.text_content("#preview-warnings")
    page.fill("textarea[name=body]", "x" * 5000)
    page.wait_for_function("document.getElementById('preview-errors').textContent.includes('Too long')")
    page.fill("input[name=name]", "Long")
    page.fill("input[name=slug]", "long")
    page.click("#template-form button[type=submit]")
    page.wait_for_load_state()
    assert "at most 1,600" in page.content() and not Template.objects.exists()
    page.wait_for_load_state("networkidle")
