"""Server-rendered SVG charts (no JavaScript, nothing fetched, no matplotlib start-up cost).

The dashboard's daily line chart and the SIM page's daily bars share the frame, the axis
labels and the escaping here: every value put in the markup goes through ``format_html``.
"""

from __future__ import annotations

from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe (Okabe-Ito) series colours.
COLOURS = {
    "sent": "#0072B2",
    "delivered": "#009E73",
    "failed": "#D55E00",
    "replies": "#CC79A7",
    "opens": "#E69F00",  # link clicks (links app)
    "unique": "#0072B2",
    "bots": "#999999",
}
MUTED = "#6c757d"  # Bootstrap's secondary text: axis labels
BAR = "#0d6efd"
LIMIT = "#dc3545"


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def _join(parts) -> SafeString:
    return mark_safe("".join(parts))  # noqa: S308  (each part built with format_html)


def _text(x: float, y: float, text, *, anchor: str = "start", size: int = 11, fill: str = MUTED) -> SafeString:
    return format_html(
        '<text x="{}" y="{}" text-anchor="{}" font-size="{}" fill="{}">{}</text>', x, y, anchor, size, fill, text
    )


def _svg(*parts: SafeString, width: int, height: int, label: str, title: str = "") -> SafeString:
    """The frame: scales to its container, labelled for screen readers."""
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" aria-label="{}" class="w-100 h-auto">'
        "{}{}</svg>",
        width,
        height,
        label,
        format_html("<title>{}</title>", title) if title else "",
        _join(parts),
    )


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

    grid = _join(
        format_html('<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#dee2e6"/>', left, width - right, y(v), y(v))
        + _text(left - 6, y(v) + 4, v, anchor="end")
        for v in (0, peak // 2, peak)
    )
    labels = _join(
        _text(x(i), height - 8, d.strftime("%-d %b"), anchor="middle")
        for i, d in enumerate(dates)
        if i % 2 == (len(dates) - 1) % 2
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
    return _svg(grid, labels, _join(lines), legend, width=width, height=height, label=title, title=title)


def bar_chart(
    days: list[tuple[date, int]], *, limit: int | None = None, width: int = 640, height: int = 160, label: str = ""
) -> SafeString:
    """Bars of ``days`` (oldest first, one ``.bar`` each) with a dashed line at ``limit``."""
    top = max([count for _, count in days] + [limit or 0, 1])
    pad_left, pad_right, pad_bottom, pad_top = 32, 16, 18, 6
    plot_w, plot_h = width - pad_left - pad_right, height - pad_bottom - pad_top
    step = plot_w / max(len(days), 1)

    def y(value: int) -> float:
        return round(pad_top + plot_h - plot_h * value / top, 1)

    parts = []
    for i, (day, count) in enumerate(days):
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" class="bar" fill="{}"><title>{}</title></rect>',
                round(pad_left + i * step + 1, 1),
                y(count),
                round(max(step - 2, 1), 1),
                round(pad_top + plot_h - y(count), 1),
                BAR,
                f"{day:%a %d %b}: {count}",
            )
        )
        if i % 5 == 0 or i == len(days) - 1:
            x = round(pad_left + i * step + step / 2, 1)
            parts.append(_text(x, height - 4, f"{day:%d/%m}", anchor="middle", size=10))
    if limit:
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-dasharray="4 3"/>',
                pad_left,
                width - pad_right,
                y(limit),
                y(limit),
                LIMIT,
            )
        )
        parts.append(_text(2, y(limit) + 3, int(limit), size=10, fill=LIMIT))
    parts.append(_text(2, y(0), 0, size=10))
    return _svg(*parts, width=width, height=height, label=label)
