"""The README renders: reStructuredText with a malformed table shows readers an error block
instead of the table (three of them once did)."""

from pathlib import Path

import docutils.core
import docutils.nodes
import docutils.utils

README = Path(__file__).resolve().parents[2] / "README.rst"


def problems(text: str) -> list[str]:
    document = docutils.core.publish_doctree(
        text, settings_overrides={"report_level": 5, "halt_level": 5, "warning_stream": False}
    )
    return [
        node.astext()
        for node in document.findall(docutils.nodes.system_message)
        if node["level"] >= docutils.utils.Reporter.WARNING_LEVEL
    ]


def test_a_malformed_table_is_caught():
    assert problems("====  ====\na     b\n====  =====\n\ntext\n")


def test_the_readme_is_valid_restructuredtext():
    assert problems(README.read_text(encoding="utf-8")) == []
