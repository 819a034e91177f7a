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
VERSION = 3  # bump when the drawing changes, so cached pictures are redrawn


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


def _svg(figure, salt: str, *, tight: bool = False) -> str:
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        buffer = io.StringIO()
        extra = {"bbox_inches": "tight", "pad_inches": 0.05} if tight else {}
        figure.savefig(buffer, format="svg", **extra)
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


def _wrap(
    svg: str, *, title: str, summary: str, headers: Sequence, rows: Sequence[Sequence], legend: str = ""
) -> SafeString:
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
        mark_safe(  # noqa: S308  (each cell escaped; format_html per cell costs 40 ms for a year)
            "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
        ),
    )
    return mark_safe(svg + legend + table)  # noqa: S308  (matplotlib's SVG; every label in it is escaped by its writer)


def _day_labels(dates: Sequence[date]) -> list[str]:
    return [f"{d:%-d %b}" for d in dates]


# --- Charts over days: a cached frame under a fresh layer of data ---------------------------
#
# matplotlib spends most of a chart's time on its axes (tick objects, their labels, the grid):
# 80 to 200 ms on this machine, each time a day's count moves. So a chart over days is two
# SVGs of one size stacked in one box: the *frame* (axes, ticks, grid, labels, a daily limit),
# cached under what it shows (the days, the y scale), which stays the same while the counts
# grow within their scale; and the *data* (lines, bars), drawn on bare axes in ~15 ms. Both
# are matplotlib's, on the same axes rectangle and limits, so they line up exactly. The legend
# (each series with its total, which moves with every text) is HTML under the chart.

WIDE = (9.6, 3.2)
STRIP = (9.6, 2.6)


def _layout(size: tuple[float, float], dates: Sequence[date], peak: float) -> dict:
    """What the frame and the data layer share: size, axes rectangle, limits and ticks. The y
    scale ends on a round tick above ``peak``: the frame changes only when the counts outgrow it."""
    from matplotlib.ticker import MaxNLocator

    ticks = [t for t in MaxNLocator(nbins=5, integer=True, min_n_ticks=3).tick_values(0, max(peak, 1)) if t >= 0]
    top = ticks[-1]
    if top < peak:  # pragma: no cover  (MaxNLocator covers the range it is given)
        top = peak
    width, height = size
    left = (0.16 + 0.075 * len(f"{int(top):,}")) / width  # 9 pt digits, ~0.075 in each
    step = max(1, round(len(dates) / 8))
    xticks = list(range(0, len(dates), step))
    return {
        "size": list(size),
        "rect": [left, 0.32 / height, 1 - left - 0.12 / width, 1 - 0.40 / height],
        "n": len(dates),
        "top": top,
        "yticks": [int(t) for t in ticks if t <= top],
        "xticks": xticks,
        "xlabels": [f"{dates[i]:%-d %b}" for i in xticks],
    }


def _axes(layout: dict, *, bare: bool):
    figure = _figure(*layout["size"])
    ax = figure.add_axes(layout["rect"])
    ax.set_xlim(-0.6, layout["n"] - 0.4)
    ax.set_ylim(0, layout["top"])
    if bare:
        ax.set_axis_off()
    return figure, ax


def _frame(layout: dict, *, limit: int | None = None) -> str:
    def draw(salt):
        figure, ax = _axes(layout, bare=False)
        ax.set_yticks(layout["yticks"], [f"{t:,}" for t in layout["yticks"]])
        ax.set_xticks(layout["xticks"], layout["xlabels"])
        _style(ax)
        ax.set_xlim(-0.6, layout["n"] - 0.4)  # _style's margins must not move it off the data layer
        if limit:
            ax.axhline(limit, color=VERMILION, linestyle=(0, (4, 3)), linewidth=1.2)
        return _svg(figure, salt)

    return _cached("frame", {"layout": layout, "limit": limit}, draw)


def _bars(ax, heights: Sequence[float], *, bottom: Sequence[float], colour: str) -> None:
    """Every bar of a series as one compound path: one SVG element, whatever the days."""
    from matplotlib.patches import PathPatch, StepPatch
    from matplotlib.path import Path as MplPath

    # add_artist, not add_patch: the limits are set already, and add_patch walks every segment
    # to update them (a fifth of a second for a year of stacked days).
    if len(heights) > 92:  # a bar is a pixel or two wide: one stepped area, a fifth of the points
        top = [b + h for b, h in zip(bottom, heights, strict=True)]
        edges = [x - 0.5 for x in range(len(heights) + 1)]
        ax.add_artist(StepPatch(top, edges, baseline=list(bottom), fill=True, facecolor=colour, edgecolor="none"))
        return
    vertices, codes = [], []
    for x, (b, h) in enumerate(zip(bottom, heights, strict=True)):
        if h:
            vertices += [(x - 0.4, b), (x - 0.4, b + h), (x + 0.4, b + h), (x + 0.4, b), (x - 0.4, b)]
            codes += [MplPath.MOVETO, MplPath.LINETO, MplPath.LINETO, MplPath.LINETO, MplPath.CLOSEPOLY]
    if vertices:
        ax.add_artist(PathPatch(MplPath(vertices, codes), facecolor=colour, edgecolor="none"))


def _stack(frame: str, data: str) -> str:
    """The data layer laid exactly over the frame (same viewBox, same box)."""
    data = data.replace("<svg", '<svg aria-hidden="true" class="position-absolute top-0 start-0 w-100 h-100"', 1)
    return f'<div class="position-relative">{frame}{data}</div>'


def _legend(items: Sequence[tuple[str, str, bool]]) -> SafeString:
    """(colour, label, dashed) as HTML: wraps on a phone, read as text."""
    return format_html(
        '<ul class="list-inline small mb-1 chart-legend" aria-hidden="true">{}</ul>',
        format_html_join(
            "",
            '<li class="list-inline-item me-3"><span style="display:inline-block;width:.9em;height:{};'
            'vertical-align:middle;background:{}"></span> {}</li>',
            (("2px" if dashed else ".9em", c, label) for c, label, dashed in items),
        ),
    )


def _series_chart(kind: str, dates, series: dict[str, Sequence[int]], *, title: str, paint, peak: float):
    layout = _layout(WIDE, dates, peak)
    payload = {"layout": layout, "series": {k: list(v) for k, v in series.items()}}

    def draw(salt):
        figure, ax = _axes(layout, bare=True)
        paint(ax)
        return _svg(figure, salt)

    svg = _stack(_frame(layout), _cached(kind, payload, draw))
    legend = _legend(
        [(colour(name, i), f"{name.capitalize()} ({sum(v):,})", False) for i, (name, v) in enumerate(series.items())]
    )
    totals = ", ".join(f"{name} {sum(values):,}" for name, values in series.items())
    rows = [[label, *(values[i] for values in series.values())] for i, label in enumerate(_day_labels(dates))]
    return _wrap(svg, title=title, summary=f"Totals: {totals}", headers=["Day", *series], rows=rows, legend=legend)


def line_chart(dates: Sequence[date], series: dict[str, Sequence[int]], *, title: str) -> SafeString:
    """Daily counts, one line per series (legend with each series' total)."""
    dense = len(dates) > 92  # a year of dots is a smudge

    def paint(ax):
        for i, (name, values) in enumerate(series.items()):
            ax.plot(
                range(len(dates)),
                values,
                color=colour(name, i),
                linewidth=1.2 if dense else 2,
                marker=None if dense else "o",
                markersize=3,
                clip_on=False,
            )

    peak = max((max(v, default=0) for v in series.values()), default=0)
    return _series_chart("line", dates, series, title=title, paint=paint, peak=peak)


def stacked_bar_chart(dates: Sequence[date], series: dict[str, Sequence[int]], *, title: str) -> SafeString:
    """Daily counts stacked by series (e.g. texts sorted by keyword / classifier / staff)."""

    def paint(ax):
        bottom = [0] * len(dates)
        for i, (name, values) in enumerate(series.items()):
            _bars(ax, values, bottom=bottom, colour=colour(name, i))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]

    peak = max((sum(day) for day in zip(*series.values(), strict=True)), default=0) if series else 0
    return _series_chart("stacked", dates, series, title=title, paint=paint, peak=peak)


def bar_chart(days: Sequence[tuple[date, int]], *, limit: int | None = None, label: str) -> SafeString:
    """A bar a day (oldest first) with a dashed line at ``limit`` (a SIM's daily allowance)."""
    values = [n for _, n in days]
    layout = _layout(STRIP, [d for d, _ in days], max([*values, limit or 0]))

    def draw(salt):
        figure, ax = _axes(layout, bare=True)
        _bars(ax, values, bottom=[0] * len(values), colour=BLUE)
        return _svg(figure, salt)

    svg = _stack(_frame(layout, limit=limit), _cached("bars", {"layout": layout, "values": values}, draw))
    items = [(BLUE, "Parts sent", False)] + ([(VERMILION, f"Daily limit ({limit:,})", True)] if limit else [])
    peak = max(days, key=lambda item: item[1], default=None)
    summary = f"Total {sum(values):,}" + (f", busiest {peak[0]:%-d %b} ({peak[1]:,})" if peak else "")
    if limit:
        summary += f", daily limit {limit:,}"
    rows = [[f"{d:%a %-d %b}", n] for d, n in days]
    return _wrap(svg, title=label, summary=summary, headers=["Day", "Parts sent"], rows=rows, legend=_legend(items))


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
        return _svg(figure, salt, tight=True)  # label widths vary: measured

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
        return _svg(figure, salt, tight=True)

    svg = _cached("heatmap", payload, draw)
    table_rows = [[label, *values] for label, values in zip(rows, matrix, strict=True)]
    return _wrap(
        svg, title=title, summary=f"{ylabel} by row, {xlabel} by column", headers=["", *columns], rows=table_rows
    )
