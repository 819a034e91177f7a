"""The one chart module: every chart of every page, drawn server-side by matplotlib as SVG.

- matplotlib is imported on first draw, never at start-up (it costs ~0.3 s), with the Agg
  machinery only (``Figure`` and its SVG writer: no display, no pyplot global state, safe
  in threads).
- A chart is cached under a key made from its data (kind + every value + the labels), so it
  is redrawn exactly when what it shows changes, and never served stale.
- Colours are Okabe-Ito (distinguishable with every common colour-vision deficiency); series
  keep their colour on every page (sent is always blue, failed always vermilion).
- Each chart carries its own text alternative: ``role="img"``, an ``aria-label`` and
  ``<title>`` summing it up, and a visually hidden table of every value for screen readers.

Lower apps' templates use these through ``{% load charts %}`` (stats/templatetags/charts.py):
loading a template tag library is not a Python import, so the import direction holds
(``stats`` on top; nothing imports it). Views of ``stats`` call the functions directly.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Sequence
from datetime import date

from django.core.cache import cache
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

# Okabe & Ito (2008), "Color Universal Design".
BLUE, ORANGE, GREEN, VERMILION, PURPLE, SKY, YELLOW, BLACK = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
PALETTE = [BLUE, ORANGE, GREEN, VERMILION, PURPLE, SKY, YELLOW, BLACK]
NAMED = {
    "sent": BLUE,
    "delivered": GREEN,
    "failed": VERMILION,
    "replies": PURPLE,
    "received": PURPLE,
    "opt-outs": VERMILION,
    "opt-ins": GREEN,
    "keyword": ORANGE,
    "classifier": SKY,
    "staff": BLUE,
    "waiting": VERMILION,
    "opens": ORANGE,  # link clicks (links app)
    "unique": BLUE,
    "bots": "#999999",  # neutral grey: not people
}
GRID, MUTED = "#dee2e6", "#6c757d"
CACHE_SECONDS = 7 * 24 * 3600
VERSION = 1  # bump when the drawing changes, so cached pictures are redrawn


def colour(name: str, index: int) -> str:
    return NAMED.get(name.lower(), PALETTE[index % len(PALETTE)])


def _cached(kind: str, payload: dict, draw) -> str:
    blob = json.dumps([VERSION, kind, payload], default=str, sort_keys=True)
    key = "chart:" + hashlib.sha256(blob.encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        svg = draw(key[6:18])
        cache.set(key, svg, CACHE_SECONDS)
    return svg


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=72)
    figure.patch.set_alpha(0)
    return figure


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.spines[["left", "bottom"]].set_color(GRID)
    ax.tick_params(colors=MUTED, labelsize=9)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.margins(x=0.01)


def _svg(figure, salt: str) -> str:
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.05)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)  # a time stamp: not our data
    # Scale to the container; ids made unique per chart (several charts share a page).
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", svg, count=1)
    return (
        re.sub(r'id="([^"]+)"', rf'id="c{salt}-\1"', svg)
        .replace("url(#", f"url(#c{salt}-")
        .replace('xlink:href="#', f'xlink:href="#c{salt}-')
    )


def _wrap(svg: str, *, title: str, summary: str, headers: Sequence, rows: Sequence[Sequence]) -> SafeString:
    """The SVG labelled for screen readers, followed by the same figures as a hidden table."""
    label = f"{title}. {summary}" if summary else title
    opening = format_html('<svg role="img" aria-label="{}" class="chart w-100 h-auto" style="max-height: 22rem"', label)
    svg = svg.replace("<svg", opening, 1)
    svg = re.sub(r"(<svg[^>]*>)", lambda m: m.group(1) + f"<title>{escape(label)}</title>", svg, count=1)
    table = format_html(
        # A div hides it: a table ignores the 1px width of .visually-hidden and would widen phones.
        '<div class="visually-hidden"><table><caption>{}</caption><thead><tr>{}</tr></thead><tbody>{}</tbody>'
        "</table></div>",
        title,
        format_html_join("", "<th>{}</th>", ((h,) for h in headers)),
        mark_safe(  # noqa: S308  (each cell escaped by format_html_join)
            "".join(
                format_html("<tr>{}</tr>", format_html_join("", "<td>{}</td>", ((c,) for c in row))) for row in rows
            )
        ),
    )
    return mark_safe(svg + table)  # noqa: S308  (matplotlib's SVG; every label in it is escaped by its writer)


def _day_labels(dates: Sequence[date]) -> list[str]:
    return [f"{d:%-d %b}" for d in dates]


def _date_axis(ax, dates: Sequence[date]) -> None:
    step = max(1, round(len(dates) / 8))
    ticks = list(range(0, len(dates), step))
    ax.set_xticks(ticks, [f"{dates[i]:%-d %b}" for i in ticks])


def line_chart(dates: Sequence[date], series: dict[str, Sequence[int]], *, title: str) -> SafeString:
    """Daily counts, one line per series (legend with each series' total)."""
    payload = {"dates": [str(d) for d in dates], "series": {k: list(v) for k, v in series.items()}, "title": title}

    def draw(salt):
        figure = _figure(9.6, 3.2)
        ax = figure.subplots()
        for i, (name, values) in enumerate(series.items()):
            ax.plot(
                range(len(dates)),
                values,
                color=colour(name, i),
                linewidth=2,
                marker="o",
                markersize=3,
                label=f"{name.capitalize()} ({sum(values):,})",
            )
        _date_axis(ax, dates)
        ax.set_ylim(bottom=0)
        ax.yaxis.get_major_locator().set_params(integer=True)
        _style(ax)
        if series:
            ax.legend(loc="upper left", frameon=False, ncols=min(len(series), 4), fontsize=9)
        return _svg(figure, salt)

    svg = _cached("line", payload, draw)
    totals = ", ".join(f"{name} {sum(values):,}" for name, values in series.items())
    rows = [[label, *(values[i] for values in series.values())] for i, label in enumerate(_day_labels(dates))]
    return _wrap(svg, title=title, summary=f"Totals: {totals}", headers=["Day", *series], rows=rows)


def stacked_bar_chart(dates: Sequence[date], series: dict[str, Sequence[int]], *, title: str) -> SafeString:
    """Daily counts stacked by series (e.g. texts sorted by keyword / classifier / staff)."""
    payload = {"dates": [str(d) for d in dates], "series": {k: list(v) for k, v in series.items()}, "title": title}

    def draw(salt):
        figure = _figure(9.6, 3.2)
        ax = figure.subplots()
        bottom = [0] * len(dates)
        for i, (name, values) in enumerate(series.items()):
            ax.bar(
                range(len(dates)),
                values,
                bottom=bottom,
                color=colour(name, i),
                width=0.8,
                label=f"{name.capitalize()} ({sum(values):,})",
            )
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        _date_axis(ax, dates)
        ax.yaxis.get_major_locator().set_params(integer=True)
        _style(ax)
        if series:
            ax.legend(loc="upper left", frameon=False, ncols=min(len(series), 4), fontsize=9)
        return _svg(figure, salt)

    svg = _cached("stacked", payload, draw)
    totals = ", ".join(f"{name} {sum(values):,}" for name, values in series.items())
    rows = [[label, *(values[i] for values in series.values())] for i, label in enumerate(_day_labels(dates))]
    return _wrap(svg, title=title, summary=f"Totals: {totals}", headers=["Day", *series], rows=rows)


def bar_chart(days: Sequence[tuple[date, int]], *, limit: int | None = None, label: str) -> SafeString:
    """A bar a day (oldest first) with a dashed line at ``limit`` (a SIM's daily allowance)."""
    payload = {"days": [(str(d), n) for d, n in days], "limit": limit, "label": label}

    def draw(salt):
        figure = _figure(9.6, 2.6)
        ax = figure.subplots()
        ax.bar(range(len(days)), [n for _, n in days], color=BLUE, width=0.8, label="Parts sent")
        if limit:
            ax.axhline(limit, color=VERMILION, linestyle=(0, (4, 3)), linewidth=1.2, label=f"Daily limit ({limit:,})")
        _date_axis(ax, [d for d, _ in days])
        ax.yaxis.get_major_locator().set_params(integer=True)
        _style(ax)
        ax.legend(loc="upper left", frameon=False, ncols=2, fontsize=9)
        return _svg(figure, salt)

    svg = _cached("bars", payload, draw)
    peak = max(days, key=lambda item: item[1], default=None)
    summary = f"Total {sum(n for _, n in days):,}" + (f", busiest {peak[0]:%-d %b} ({peak[1]:,})" if peak else "")
    if limit:
        summary += f", daily limit {limit:,}"
    rows = [[f"{d:%a %-d %b}", n] for d, n in days]
    return _wrap(svg, title=label, summary=summary, headers=["Day", "Parts sent"], rows=rows)


def hbar_chart(items: Sequence[tuple[str, int]], *, title: str) -> SafeString:
    """One horizontal bar per label (e.g. replies per reply type), largest first as given."""
    payload = {"items": [list(item) for item in items], "title": title}

    def draw(salt):
        figure = _figure(6.4, 0.45 * max(len(items), 1) + 0.6)
        ax = figure.subplots()
        labels = [label for label, _ in items][::-1]
        values = [n for _, n in items][::-1]
        colours = [PALETTE[(len(items) - 1 - i) % len(PALETTE)] for i in range(len(items))]
        ax.barh(labels, values, color=colours, height=0.7)
        for y, value in enumerate(values):
            ax.text(value, y, f" {value:,}", va="center", fontsize=9, color=BLACK)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(colors=MUTED, labelsize=9)
        ax.xaxis.set_visible(False)
        ax.margins(x=0.12)
        return _svg(figure, salt)

    svg = _cached("hbar", payload, draw)
    summary = ", ".join(f"{label} {n:,}" for label, n in items)
    return _wrap(svg, title=title, summary=summary, headers=["", "Count"], rows=[list(item) for item in items])


def heatmap(
    *,
    rows: Sequence[str],
    columns: Sequence[str],
    matrix: Sequence[Sequence[int]],
    title: str,
    xlabel: str = "",
    ylabel: str = "",
) -> SafeString:
    """A matrix of counts (the classifier's confusion matrix), each cell labelled."""
    payload = {"rows": list(rows), "columns": list(columns), "matrix": [list(r) for r in matrix], "title": title}

    def draw(salt):
        size = max(3.5, 0.9 * len(columns) + 1.5)
        figure = _figure(size, size * 0.9)
        ax = figure.subplots()
        image = ax.imshow(matrix, cmap="cividis")  # perceptually uniform, colour-blind safe
        ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
        ax.set_yticks(range(len(rows)), rows)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        peak = max((max(r) for r in matrix if r), default=0)
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                ax.text(j, i, str(value), ha="center", va="center", color=BLACK if value > peak / 2 else "white")
        figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        return _svg(figure, salt)

    svg = _cached("heatmap", payload, draw)
    table_rows = [[label, *values] for label, values in zip(rows, matrix, strict=True)]
    return _wrap(
        svg, title=title, summary=f"{ylabel} by row, {xlabel} by column", headers=["", *columns], rows=table_rows
    )
