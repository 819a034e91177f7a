"""CONVENTIONS.md, checked: every management command has a test that calls it, and no module
of ours grows past the size at which it should be split by feature."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["sms", "campaigns", "replies", "modems", "links", "texting"]
COMMANDS = sorted(
    path.stem
    for app in APPS
    for path in (ROOT / app / "management" / "commands").glob("*.py")
    if path.stem != "__init__"
)
TEST_SOURCES = "\n".join(path.read_text() for app in APPS for path in (ROOT / app).glob("tests/test_*.py"))


def test_the_commands_are_found():
    assert {"send_queued", "pull_campaign", "train_classifier", "read_in"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_test_that_calls_it(command):
    called = rf"""call_command\(\s*["']{command}["']|["']manage\.py["'],\s*["']{command}["']"""
    assert re.search(called, TEST_SOURCES), f"no test calls the {command} command"


def test_modules_stay_under_the_split_size():
    # CONVENTIONS 13: split by feature before ~500 lines. Migrations and generated data are exempt.
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {name: lines for name, lines in sizes.items() if lines > 550} == {}
