import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/sms/outbound/", "/sms/received/", "/sms/compose/", "/campaigns/", "/replies/", "/modems/"]


@pytest.mark.parametrize("url", PAGES)
def test_staff_see_every_page(staff_client, url):
    assert staff_client.get(url).status_code == 200


def test_login_page_and_health_check_are_public(client):
    assert client.get("/login/").status_code == 200
    assert client.get("/healthz").json() == {"ok": True}


def test_admin_lists_every_model(admin_client):
    from django.apps import apps
    from django.contrib import admin

    ours = [m for app in ("sms", "campaigns", "replies", "modems") for m in apps.get_app_config(app).get_models()]
    missing = [m.__name__ for m in ours if not admin.site.is_registered(m)]
    assert missing == []


def _our_models():
    from django.apps import apps

    return [m for app in ("sms", "campaigns", "replies", "modems") for m in apps.get_app_config(app).get_models()]


@pytest.mark.parametrize("model", _our_models(), ids=lambda m: m._meta.label)
def test_every_admin_list_and_add_page_opens(admin_client, model):
    from django.urls import reverse

    opts = model._meta
    assert admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    assert add.status_code in (200, 403)  # 403: an append-only model that refuses additions by hand
