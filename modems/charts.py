"""A small server-rendered SVG bar chart (no JavaScript, no matplotlib start-up cost)."""

from __future__ import annotations

from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def daily_bars(
    days: list[tuple[date, int]], *, limit: int | None = None, width: int = 640, height: int = 160
) -> SafeString:
    """Bars of ``days`` (oldest first) with a dashed line at ``limit``, as inline SVG.

    Every value put in the markup is a number we computed or an escaped date label.
    """
    top = max([count for _, count in days] + [limit or 0, 1])
    pad_left, pad_right, pad_bottom, pad_top = 32, 16, 18, 6
    plot_w, plot_h = width - pad_left - pad_right, height - pad_bottom - pad_top
    step = plot_w / max(len(days), 1)

    def y(value: int) -> float:
        return pad_top + plot_h - plot_h * value / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="w-100" role="img" '
        f'aria-label="SMS parts sent per day, last {len(days)} days">'
    ]
    for i, (day, count) in enumerate(days):
        x, top_y = pad_left + i * step + 1, y(count)
        label = escape(f"{day:%a %d %b}: {count}")
        parts.append(
            f'<rect x="{x:.1f}" y="{top_y:.1f}" width="{max(step - 2, 1):.1f}" height="{pad_top + plot_h - top_y:.1f}" '
            f'class="bar" fill="#0d6efd"><title>{label}</title></rect>'
        )
        if i % 5 == 0 or i == len(days) - 1:
            parts.append(
                f'<text x="{pad_left + i * step + step / 2:.1f}" y="{height - 4}" font-size="10" '
                f'text-anchor="middle" fill="#6c757d">{escape(f"{day:%d/%m}")}</text>'
            )
    if limit:
        parts.append(
            f'<line x1="{pad_left}" x2="{width - pad_right}" y1="{y(limit):.1f}" y2="{y(limit):.1f}" stroke="#dc3545" '
            f'stroke-dasharray="4 3"/>'
            f'<text x="2" y="{y(limit) + 3:.1f}" font-size="10" fill="#dc3545">{int(limit)}</text>'
        )
    parts.append(f'<text x="2" y="{y(0):.1f}" font-size="10" fill="#6c757d">0</text></svg>')
    return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped labels only
