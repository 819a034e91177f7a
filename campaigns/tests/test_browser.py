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
