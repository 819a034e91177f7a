"""Server-rendered SVG charts (no JavaScript, nothing fetched): crisp at any size, tiny."""

from __future__ import annotations

from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe (Okabe-Ito) series colours.
COLOURS = {"sent": "#0072B2", "delivered": "#009E73", "failed": "#D55E00", "replies": "#CC79A7"}


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def line_chart(
    dates: list[date], series: dict[str, list[int]], *, width: int = 720, height: int = 240, title: str = ""
) -> SafeString:
    """A line chart of daily counts, one line per series, with axes, grid and a legend."""
    left, right, top, bottom = 40, 28, 28, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max([max(values, default=0) for values in series.values()] or [0]))
    step_x = plot_w / max(len(dates) - 1, 1)

    def x(i: int) -> float:
        return round(left + i * step_x, 1)

    def y(v: int) -> float:
        return round(top + plot_h - v / peak * plot_h, 1)

    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#dee2e6"/>'
        '<text x="{}" y="{}" text-anchor="end" font-size="11" fill="#6c757d">{}</text>',
        ((left, width - right, y(v), y(v), left - 6, y(v) + 4, v) for v in (0, peak // 2, peak)),
    )
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#6c757d">{}</text>',
        ((x(i), height - 8, d.strftime("%-d %b")) for i, d in enumerate(dates) if i % 2 == (len(dates) - 1) % 2),
    )
    lines = []
    for name, values in series.items():
        points = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values))
        colour = COLOURS.get(name, "#333")
        dots = format_html_join(
            "",
            '<circle cx="{}" cy="{}" r="2.5" fill="{}"><title>{}: {} {}</title></circle>',
            ((x(i), y(v), colour, dates[i].strftime("%-d %b"), v, name) for i, v in enumerate(values)),
        )
        lines.append(
            format_html(
                '<g data-series="{}"><polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>{}</g>',
                name,
                points,
                colour,
                dots,
            )
        )
    legend = format_html_join(
        "",
        '<rect x="{}" y="8" width="10" height="10" fill="{}"/><text x="{}" y="17" font-size="12">{} ({})</text>',
        (
            (left + i * 130, COLOURS.get(name, "#333"), left + i * 130 + 14, name.capitalize(), sum(values))
            for i, (name, values) in enumerate(series.items())
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" aria-label="{}" class="w-100 h-auto">'
        "<title>{}</title>{}{}{}{}</svg>",
        width,
        height,
        title,
        title,
        grid,
        labels,
        mark_safe("".join(lines)),  # noqa: S308  (each part built with format_html)
        legend,
    )
