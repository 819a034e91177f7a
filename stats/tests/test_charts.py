"""The chart module's two layers: the frame is drawn again only when the scale changes, the
data layer whenever a value does, and both share one viewBox so they line up."""

import re
from datetime import date, timedelta

import pytest
from django.core.cache import cache

from stats import charts

DAYS = [date(2026, 11, 1) + timedelta(days=i) for i in range(30)]


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _layers(html: str) -> tuple[str, str]:
    """(frame, data) SVGs; the frame without its text alternative (which carries the totals)."""
    frame, data = re.findall(r"<svg.*?</svg>", str(html), flags=re.S)
    frame = re.sub(r' aria-label="[^"]*"|<title>.*?</title>', "", frame, flags=re.S)
    return frame, data


def _drawn(monkeypatch) -> list[str]:
    kinds = []
    original = charts._cached

    def counting(kind, payload, draw):
        return original(kind, payload, lambda salt: kinds.append(kind) or draw(salt))

    monkeypatch.setattr(charts, "_cached", counting)
    return kinds


def test_new_data_within_the_scale_redraws_only_the_data_layer(monkeypatch):
    drawn = _drawn(monkeypatch)
    series = {"sent": [90] * 30, "failed": [3] * 30}
    first = charts.line_chart(DAYS, series, title="Texts")
    assert drawn == ["frame", "line"]
    series["sent"][-1] = 91  # today's count moves, the y scale (0-100) does not
    second = charts.line_chart(DAYS, series, title="Texts")
    assert drawn == ["frame", "line", "line"]
    assert _layers(first)[0] == _layers(second)[0] and _layers(first)[1] != _layers(second)[1]
    assert "Sent (2,701)" in second and "Sent (2,700)" in first  # the HTML legend's totals


def test_outgrowing_the_scale_redraws_the_frame_too(monkeypatch):
    drawn = _drawn(monkeypatch)
    charts.stacked_bar_chart(DAYS, {"staff": [10] * 30}, title="Sorted")
    charts.stacked_bar_chart(DAYS, {"staff": [10] * 29 + [500]}, title="Sorted")
    assert drawn == ["frame", "stacked", "frame", "stacked"]


@pytest.mark.parametrize("days", [7, 30, 365])
def test_both_layers_share_one_viewbox_and_the_data_layer_is_hidden_from_screen_readers(days):
    html = charts.bar_chart([(DAYS[0] + timedelta(days=i), i) for i in range(days)], limit=50, label="Parts")
    frame, data = _layers(html)
    box = re.search(r'viewBox="([^"]+)"', frame).group(1)
    assert re.search(r'viewBox="([^"]+)"', data).group(1) == box
    assert 'role="img"' in frame and 'aria-hidden="true"' in data
    assert "Daily limit (50)" in html
