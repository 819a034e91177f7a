"""Every environment variable the settings read is documented in .env.example and the README.

The names are read from the settings' source with ``ast`` (every ``env*("NAME", ...)`` call),
so a new setting without documentation fails here, not in an operator's deployment.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READERS = {"env", "env_bool", "env_int", "env_float", "env_list", "env_choice"}
SETTINGS_MODULES = ["texting/settings.py", "texting/settings_production.py"]


def variables_read(path: Path) -> set[str]:
    names = set()
    # The readers' own definitions pass a parameter along; every other call names its variable.
    statements = [node for node in ast.parse(path.read_text()).body if not isinstance(node, ast.FunctionDef)]
    for node in (child for statement in statements for child in ast.walk(statement)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in READERS:
            first = node.args[0]
            assert isinstance(first, ast.Constant) and isinstance(first.value, str), ast.unparse(node)
            names.add(first.value)
    return names


def env_example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def readme_configuration_names() -> set[str]:
    text = (ROOT / "README.rst").read_text()
    section = text.split("\nConfiguration\n=============\n", 1)[1]
    table = re.search(r"^(=+  =+)\n(.*?)^\1$", section, flags=re.MULTILINE | re.DOTALL).group(2)
    return set(re.findall(r"``([A-Z][A-Z0-9_]*)``", table))


SETTINGS_VARIABLES = sorted(set().union(*(variables_read(ROOT / path) for path in SETTINGS_MODULES)))


def test_the_settings_are_parsed_into_variable_names():
    assert {"DATABASE_URL", "SMS_DEFAULT_BACKEND", "CAMPAIGNS_MAX_PER_DAY", "SECURE_HSTS_SECONDS"} <= set(
        SETTINGS_VARIABLES
    )


@pytest.mark.parametrize("name", SETTINGS_VARIABLES)
def test_variable_is_in_env_example(name):
    assert name in env_example_names()


@pytest.mark.parametrize("name", SETTINGS_VARIABLES)
def test_variable_is_in_the_readme_configuration_table(name):
    assert name in readme_configuration_names()


def test_env_example_lists_each_variable_once():
    names = re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), flags=re.MULTILINE)
    assert sorted(name for name in set(names) if names.count(name) > 1) == []
