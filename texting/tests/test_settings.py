"""Settings: env-driven, loud on bad values, and a production path that passes check --deploy."""

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET_KEY", "DEBUG"))}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="texting.settings_production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="texting.example.com",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_secret_key():
    result = run_manage("check", DJANGO_SETTINGS_MODULE="texting.settings_production")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be a boolean"),
        ("SMS_MAX_ATTEMPTS", "five", "SMS_MAX_ATTEMPTS must be an integer"),
        ("DATABASE_URL", "nosuchdb://x", "DATABASE_URL is not a valid database URL"),
    ],
)
def test_malformed_values_fail_loudly_at_start_up(name, value, message):
    result = run_manage("check", **{name: value})
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TEXTING_API_KEY_IN", "cookie", "TEXTING_API_KEY_IN must be one of header, query"),
        ("TEXTING_API_NOTIFY_FORMAT", "xml", "TEXTING_API_NOTIFY_FORMAT must be one of form, json"),
        ("REPLIES_CONFIDENCE_THRESHOLD", "1.5", "REPLIES_CONFIDENCE_THRESHOLD must be between 0 and 1"),
        ("REPLIES_OPT_OUT_CONFIDENCE_THRESHOLD", "-1", "REPLIES_OPT_OUT_CONFIDENCE_THRESHOLD must be between 0 and 1"),
        ("SMS_GATEWAY_TIMEOUT_SECONDS", "soon", "SMS_GATEWAY_TIMEOUT_SECONDS must be a number"),
        ("MODEMS_BAUDRATE", "fast", "MODEMS_BAUDRATE must be an integer"),
        ("SMS_TRUST_PROXY", "perhaps", "SMS_TRUST_PROXY must be a boolean"),
    ],
)
def test_malformed_values_are_refused_as_the_settings_load(monkeypatch, name, value, message):
    # The settings module itself, run afresh in this process (the manage.py runs above show
    # that such an error stops start-up).
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        runpy.run_path(str(ROOT / "texting" / "settings.py"))


def test_the_defaults_load_without_any_environment(monkeypatch):
    for name in [n for n in os.environ if n.startswith(("SMS_", "REPLIES_", "CAMPAIGNS_", "TEXTING_", "MODEMS_"))]:
        monkeypatch.delenv(name)
    loaded = runpy.run_path(str(ROOT / "texting" / "settings.py"))
    assert loaded["TEXTING_API_KEY_IN"] == "header" and loaded["REPLIES_CONFIDENCE_THRESHOLD"] == 0.8
