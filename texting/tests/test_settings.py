"""Settings: env-driven, loud on bad values, and a production path that passes check --deploy."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

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
        ("TEXTING_API_KEY_IN", "cookie", "TEXTING_API_KEY_IN must be one of header, query"),
        ("REPLIES_CONFIDENCE_THRESHOLD", "1.5", "REPLIES_CONFIDENCE_THRESHOLD must be between 0 and 1"),
        ("SMS_GATEWAY_TIMEOUT_SECONDS", "soon", "SMS_GATEWAY_TIMEOUT_SECONDS must be a number"),
    ],
)
def test_malformed_values_fail_loudly_at_start_up(name, value, message):
    result = run_manage("check", **{name: value})
    assert result.returncode != 0
    assert message in result.stderr
