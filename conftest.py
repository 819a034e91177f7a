"""Shared fixtures: named users, clients, a clean in-memory outbox, test-friendly settings."""

import pytest

from sms.backends import locmem


@pytest.fixture(autouse=True)
def _sms_test_settings(settings):
    settings.SMS_DEFAULT_BACKEND = "locmem"
    settings.SMS_PUBLIC_URL = "https://texting.example.com"
    # Campaign texts may leave at any hour in tests, so no test depends on the time it runs;
    # the sending-hours tests set their own windows.
    settings.CAMPAIGNS_SENDING_HOURS = "00:00-00:00"
    settings.CAMPAIGNS_SENDING_HOURS_BY_REGION = ""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    locmem.reset()
    yield
    locmem.reset()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("staff", password="staff-pass-123", is_staff=True)


@pytest.fixture
def plain_user(django_user_model):
    """Logged in, but not staff: may not see the dashboard."""
    return django_user_model.objects.create_user("plain", password="plain-pass-123")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def outbox():
    return locmem.outbox
