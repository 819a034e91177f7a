"""Server-side pictures of the classifier (matplotlib, Agg backend: no display, no browser JS)."""

from __future__ import annotations

import io


def confusion_matrix_svg(*, classes: list[str], matrix: list[list[int]], title: str = "") -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    size = max(3.5, 0.9 * len(classes) + 1.5)
    figure = Figure(figsize=(size, size * 0.9))
    ax = figure.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("Labelled by staff")
    if title:
        ax.set_title(title)
    peak = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black")
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    return buffer.getvalue()
