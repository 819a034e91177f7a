"""Adding a SIM in the dashboard with real Chromium."""

import pytest

from modems.models import SimCard
from modems.testing import create_network

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def page(browser_page):
    return browser_page


def test_staff_adds_a_modem_sim_and_sees_it_listed(page, live_server, staff_user):
    create_network("EE", carrier_names="EE")
    page.goto(f"{live_server.url}/login/?next=/modems/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "staff-pass-123")
    page.click("button[type=submit], input[type=submit]")
    page.click("text=Add a SIM")
    page.fill("#id_name", "Dongle A")
    page.select_option("#id_network", label="EE")
    page.fill("#id_number", "07911 123456")
    assert not page.is_visible("#id_backend")  # the gateway fields hide for a modem
    page.fill("#id_device", "/dev/ttyUSB2")
    page.fill("#id_daily_limit", "150")
    page.click("input[type=submit][value='Save SIM']")
    page.wait_for_selector("#sent-today")
    assert "0 / 150" in page.inner_text("#sent-today")
    sim = SimCard.objects.get()
    assert (sim.name, sim.device, sim.number) == ("Dongle A", "/dev/ttyUSB2", "+447911123456")
    page.click("text=SIM cards")
    assert page.inner_text(f"tr[data-sim='{sim.pk}']").count("Dongle A") == 1
    assert page.get_attribute(f"tr[data-sim='{sim.pk}'] [data-today]", "data-today") == "0/150"


def test_switching_to_gateway_shows_the_credential_fields(page, live_server, staff_user):
    create_network("Gateway")
    page.goto(f"{live_server.url}/login/?next=/modems/sims/new/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "staff-pass-123")
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url("**/modems/sims/new/")
    page.wait_for_load_state("load")  # modems.js wires the radio buttons once loaded
    page.check("input[name=kind][value=gateway]")
    page.wait_for_selector("#id_device", state="hidden", timeout=5000)
    assert page.is_visible("#id_credentials") and not page.is_visible("#id_pin_env")
    page.check("input[name=kind][value=modem]")
    page.wait_for_selector("#id_pin_env", state="visible", timeout=5000)
    assert page.is_visible("#id_device") and not page.is_visible("#id_credentials")


def test_route_health_reads_on_a_phone(staff_page, live_server, settings):
    from modems import health
    from modems.testing import create_sim

    settings.ROUTES_FAILOVER_AFTER_SECONDS = 0
    sim = create_sim(name="Jasmin link", backend="http_connector", prefixes="+44, +353", options={"preset": "jasmin"})
    health.record_failure(sim.pk, "HTTP connector: HTTP 503 'Service unavailable' from the gateway")
    staff_page.set_viewport_size({"width": 390, "height": 844})
    staff_page.goto(f"{live_server.url}/")
    assert "Jasmin link" in staff_page.inner_text("#route-alert")
    staff_page.click("#route-alert a")
    staff_page.wait_for_selector("#route-health")
    assert staff_page.inner_text("#health-state") == "unhealthy"
    assert "HTTP 503" in staff_page.inner_text("#health-history")
    # Nothing wider than the phone: the page does not scroll sideways.
    assert staff_page.evaluate("document.documentElement.scrollWidth") <= 390


def test_network_form_explains_a_bad_mcc_mnc_on_a_phone(staff_page, live_server):
    from modems.models import Network

    staff_page.set_viewport_size({"width": 390, "height": 844})
    staff_page.goto(f"{live_server.url}/modems/networks/new/")
    staff_page.fill("input[name=name]", "Vodafone UK")
    staff_page.fill("input[name=mcc_mnc]", "2343O, abc")
    staff_page.click("input[type=submit][value='Save network']")
    staff_page.wait_for_load_state()
    assert "Not an MCC-MNC code: “2343O”, “abc”" in staff_page.content()
    assert not Network.objects.exists()
    staff_page.fill("input[name=mcc_mnc]", "234 15")
    staff_page.click("input[type=submit][value='Save network']")
    staff_page.wait_for_url("**/modems/networks/")
    assert Network.objects.get().mcc_mnc == "23415"
