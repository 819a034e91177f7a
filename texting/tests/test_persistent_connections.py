"""Production keeps database connections (with a health check before each reuse); development does not."""

import json
import secrets

from texting.tests.test_settings import run_manage

SHOW = (
    "from django.db import connection as c; import json; "
    "print(json.dumps([c.settings_dict['CONN_MAX_AGE'], c.settings_dict['CONN_HEALTH_CHECKS']]))"
)


def production(**env):
    result = run_manage(
        "shell",
        "-c",
        SHOW,
        DJANGO_SETTINGS_MODULE="texting.settings_production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="texting.example.com",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_keeps_connections_and_checks_them_before_reuse():
    assert production() == [600, True]


def test_operators_can_tune_or_turn_them_off():
    assert production(DB_CONN_MAX_AGE="60", DB_CONN_HEALTH_CHECKS="false") == [60, False]
    assert production(DB_CONN_MAX_AGE="0") == [0, True]


def test_development_opens_a_connection_per_request():
    result = run_manage("shell", "-c", SHOW)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [0, False]
