import pytest
from django.urls import reverse
from django.utils import timezone

from modems.models import Network, SimCard, SimDayCount
from modems.testing import create_network, create_sim
from sms.testing import assert_staff_only

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim():
    return create_sim(name="Shop SIM", daily_limit=100)


def urls(sim):
    return [
        reverse("modems:index"),
        reverse("modems:sim_create"),
        reverse("modems:sim_detail", args=[sim.pk]),
        reverse("modems:sim_edit", args=[sim.pk]),
        reverse("modems:network_list"),
        reverse("modems:network_create"),
        reverse("modems:network_edit", args=[sim.network.pk]),
    ]


def test_every_page_and_write_is_staff_only_and_changes_nothing(client, plain_user, sim):
    writes = [("post", reverse("modems:sim_check", args=[sim.pk])), ("post", reverse("modems:sim_create"))]
    assert_staff_only(client, plain_user, [*(("get", url) for url in urls(sim)), *writes], data={"name": "x"})
    assert SimCard.objects.count() == 1


def test_staff_see_every_page(staff_client, sim):
    for url in urls(sim):
        assert staff_client.get(url).status_code == 200, url


def test_check_needs_post(staff_client, sim):
    assert staff_client.get(reverse("modems:sim_check", args=[sim.pk])).status_code == 405


def test_sim_list_shows_todays_count_against_the_limit_in_pinned_queries(staff_client, django_assert_num_queries):
    for i in range(5):
        sim = create_sim(name=f"SIM {i}", daily_limit=100)
        SimDayCount.objects.create(sim=sim, date=timezone.localdate(), sent=i * 30)
    SimDayCount.objects.create(sim=sim, date=timezone.localdate() - timezone.timedelta(days=1), sent=99)
    staff_client.get(reverse("modems:index"))  # warm the session
    # session + user, count for the paginator, the SIMs with network and today's count
    with django_assert_num_queries(4):
        response = staff_client.get(reverse("modems:index"))
    html = response.content.decode()
    assert 'data-today="120/100"' in html and 'data-today="0/100"' in html and "bg-danger" in html


def test_network_list_pinned_queries(staff_client, django_assert_num_queries):
    for name in ("EE", "O2 UK", "Three"):
        create_sim(network=create_network(name))
    staff_client.get(reverse("modems:network_list"))
    with django_assert_num_queries(4):
        response = staff_client.get(reverse("modems:network_list"))
    assert response.content.decode().count("/modems/networks/") >= 3


def test_detail_has_a_30_day_chart_and_never_shows_credential_values(staff_client, monkeypatch):
    monkeypatch.setenv("SIM_SHOP_TOKEN", "super-secret-token-value")
    sim = create_sim(name="Gateway acct", credentials_env={"auth_token": "SIM_SHOP_TOKEN", "sid": "SIM_SHOP_SID"})
    SimDayCount.objects.create(sim=sim, date=timezone.localdate(), sent=42)
    html = staff_client.get(sim.get_absolute_url()).content.decode()
    assert "<svg" in html and "42 / 200" in html
    # The chart's text alternative: a summary and a row per day (30), today's with its 42 parts.
    assert 'aria-label="SMS parts sent per day, last 30 days. Total 42' in html
    table = html[html.index("<caption>SMS parts sent per day") :]
    assert table[: table.index("</table>")].count("<tr><td>") == 30
    assert f"<td>{timezone.localdate():%a %-d %b}</td><td>42</td>" in html
    assert "SIM_SHOP_TOKEN" in html and "super-secret-token-value" not in html
    assert "missing" in html  # SIM_SHOP_SID is not set
    edit = staff_client.get(reverse("modems:sim_edit", args=[sim.pk])).content.decode()
    assert "super-secret-token-value" not in edit


def test_admin_list_never_shows_credentials(admin_client, monkeypatch):
    monkeypatch.setenv("SIM_ADMIN_TOKEN", "admin-secret-value")
    create_sim(credentials_env={"auth_token": "SIM_ADMIN_TOKEN"})
    html = admin_client.get("/admin/modems/simcard/").content.decode()
    assert "SIM_ADMIN_TOKEN" not in html and "admin-secret-value" not in html


def test_create_modem_sim(staff_client):
    network = create_network("EE", carrier_names="EE")
    response = staff_client.post(
        reverse("modems:sim_create"),
        {
            "name": "Dongle 1",
            "network": network.pk,
            "number": "07911 123456",
            "kind": "modem",
            "device": "/dev/ttyUSB2",
            "backend": "",
            "credentials": "",
            "daily_limit": 250,
            "priority": 1,
            "active": "on",
        },
    )
    sim = SimCard.objects.get()
    assert response.status_code == 302 and response["Location"] == sim.get_absolute_url()
    assert (sim.device, sim.backend, sim.number, sim.daily_limit) == ("/dev/ttyUSB2", "", "+447911123456", 250)


def test_create_gateway_sim_stores_variable_names_only(staff_client):
    network = create_network("SMS Broadcast", kind=Network.Kind.GATEWAY)
    staff_client.post(
        reverse("modems:sim_create"),
        {
            "name": "Account 2",
            "network": network.pk,
            "number": "",
            "kind": "gateway",
            "device": "/dev/ignored",
            "backend": "locmem",
            "credentials": "username=SIM_SB2_USER\npassword=SIM_SB2_PASS",
            "daily_limit": 1000,
            "priority": 0,
        },
    )
    sim = SimCard.objects.get()
    assert sim.device == "" and sim.backend == "locmem" and not sim.active
    assert sim.credentials_env == {"username": "SIM_SB2_USER", "password": "SIM_SB2_PASS"}


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"kind": "modem", "device": ""}, "serial device"),
        ({"kind": "gateway", "backend": ""}, "Choose the gateway"),
        ({"kind": "gateway", "backend": "locmem", "credentials": "key=SECRET_KEY"}, "start with SIM_"),
        ({"kind": "gateway", "backend": "locmem", "credentials": "just-a-value"}, "option=VARIABLE_NAME"),
        ({"kind": "modem", "device": "/dev/ttyUSB0", "number": "12"}, "not a"),
    ],
)
def test_invalid_sim_forms_explain_themselves(staff_client, fields, error):
    network = create_network()
    data = {
        "name": "x",
        "network": network.pk,
        "number": "",
        "device": "",
        "backend": "",
        "credentials": "",
        "daily_limit": 10,
        "priority": 0,
        **fields,
    }
    response = staff_client.post(reverse("modems:sim_create"), data)
    assert response.status_code == 200 and error in response.content.decode()
    assert not SimCard.objects.exists()


def test_edit_network(staff_client):
    network = create_network("Vodafone UK")
    response = staff_client.post(
        reverse("modems:network_edit", args=[network.pk]),
        {"name": "Vodafone UK", "kind": "operator", "carrier_names": "Vodafone, Lycamobile", "mcc_mnc": "23415"},
    )
    assert response.status_code == 302
    network.refresh_from_db()
    assert network.matches_carrier("lycamobile") and network.matches_code("23415")


def test_check_now_updates_the_status_from_the_modem(staff_client, modem_sim):
    sim = create_sim(device=modem_sim.port)
    response = staff_client.post(reverse("modems:sim_check", args=[sim.pk]), follow=True)
    assert "Modem status updated" in response.content.decode() and "-71 dBm" in response.content.decode()


@pytest.mark.parametrize("value", ["2343O, abc", "2341", "1234567", "23415,foo", "12345", "234155x"])
def test_network_form_refuses_what_is_not_an_mcc_mnc_code(staff_client, value):
    network = create_network("Vodafone UK", mcc_mnc="23415")
    response = staff_client.post(
        reverse("modems:network_edit", args=[network.pk]),
        {"name": "Vodafone UK", "kind": "operator", "carrier_names": "Vodafone", "mcc_mnc": value},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Not an MCC-MNC code" in html and "5 or 6 digits" in html
    network.refresh_from_db()
    assert network.mcc_mnc == "23415"


def test_network_form_tidies_valid_codes(staff_client):
    response = staff_client.post(
        reverse("modems:network_create"),
        {"name": "UK", "kind": "operator", "carrier_names": "", "mcc_mnc": "234 15; 23410, 234-20, 310260, 23415"},
    )
    assert response.status_code == 302
    assert Network.objects.get(name="UK").mcc_mnc == "23415,23410,23420,310260"


def test_the_model_refuses_bad_codes_too():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        Network(name="X", mcc_mnc="2343O").full_clean()
