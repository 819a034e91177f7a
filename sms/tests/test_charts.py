"""The shared SVG charts: one element per value, the limit line, nothing unescaped."""

from datetime import date, timedelta

from sms.charts import bar_chart, line_chart

DAYS = [date(2026, 3, 1) + timedelta(days=i) for i in range(7)]


def test_bar_chart_draws_a_bar_per_day_and_the_limit_line():
    svg = bar_chart([(day, i * 10) for i, day in enumerate(DAYS)], limit=50, label="Parts per day")
    assert svg.count('class="bar"') == 7
    assert 'stroke-dasharray="4 3"' in svg and ">50</text>" in svg
    assert 'aria-label="Parts per day"' in svg and "Sat 07 Mar: 60" in svg


def test_bar_chart_without_a_limit_has_no_limit_line():
    assert "stroke-dasharray" not in bar_chart([(day, 1) for day in DAYS])


def test_line_chart_draws_every_series_and_point():
    svg = line_chart(DAYS, {"sent": [1] * 7, "failed": [0] * 7}, title="Texts")
    assert 'data-series="sent"' in svg and 'data-series="failed"' in svg
    assert svg.count("<circle") == 14 and "<title>Texts</title>" in svg


def test_labels_are_escaped():
    assert "<b>" not in bar_chart([(DAYS[0], 1)], label="<b>bold</b>")
    assert "<b>" not in line_chart(DAYS[:2], {"<b>": [1, 2]}, title="<b>")
