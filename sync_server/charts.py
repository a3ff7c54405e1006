"""Charts as SVG drawn on the server: no script, no chart library, readable by screen readers.

Each chart is ``<svg role="img" aria-labelledby=...>`` with a ``<title>`` and a ``<desc>`` that
says what it shows in words; the page puts the same numbers in a table beside it. Colours come
from the stylesheet (classes ``chart``, ``bar``, ``line``, ``axis``): the content security policy
forbids inline styles, and dark mode follows the page.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 600, 200
LEFT, BOTTOM, TOP = 44, 24, 10
_ids = itertools.count(1)


def _frame(title: str, desc: str, body: str, width: int, height: int) -> Markup:
    n = next(_ids)
    return Markup(  # noqa: S704 - every text in it is escaped (titles, labels) or a number
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-{n}-t chart-{n}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-{n}-t">{escape(title)}</title>'
        f'<desc id="chart-{n}-d">{escape(desc)}</desc>{body}</svg>')


def _axes(top_value: int, width: int, height: int, first: str, last: str) -> str:
    base = height - BOTTOM
    return (f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{width}" y2="{base}"/>'
            f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}"/>'
            f'<text x="{LEFT - 4}" y="{TOP + 10}" text-anchor="end">{top_value:,}</text>'
            f'<text x="{LEFT - 4}" y="{base}" text-anchor="end">0</text>'
            f'<text x="{LEFT}" y="{height - 6}">{escape(first)}</text>'
            f'<text x="{width}" y="{height - 6}" text-anchor="end">{escape(last)}</text>')


def bar_chart(values: Sequence[int], labels: Sequence[str], *, title: str, desc: str,
              width: int = WIDTH, height: int = HEIGHT) -> Markup:
    """Vertical bars, one per value, labelled at both ends of the time (or category) axis."""
    top = max(max(values, default=0), 1)
    plot_w, plot_h = width - LEFT, height - BOTTOM - TOP
    step = plot_w / max(len(values), 1)
    bars = []
    for i, value in enumerate(values):
        h = plot_h * value / top
        bars.append(f'<rect class="bar" x="{LEFT + i * step + step * 0.1:.1f}" '
                    f'y="{TOP + plot_h - h:.1f}" width="{max(step * 0.8, 1):.1f}" '
                    f'height="{h:.1f}"/>')
    body = _axes(top, width, height, labels[0] if labels else "", labels[-1] if labels else "")
    return _frame(title, desc, body + "".join(bars), width, height)


def line_chart(values: Sequence[int], labels: Sequence[str], *, title: str, desc: str,
               width: int = WIDTH, height: int = HEIGHT) -> Markup:
    """One line through the values (a cumulative curve, say), left to right."""
    top = max(max(values, default=0), 1)
    plot_w, plot_h = width - LEFT, height - BOTTOM - TOP
    step = plot_w / max(len(values) - 1, 1)
    points = " ".join(f"{LEFT + i * step:.1f},{TOP + plot_h - plot_h * v / top:.1f}"
                      for i, v in enumerate(values))
    body = _axes(top, width, height, labels[0] if labels else "", labels[-1] if labels else "")
    line = f'<polyline class="line" fill="none" stroke-width="2" points="{points}"/>' \
        if len(values) > 1 else ""
    if len(values) == 1:  # one slice: a dot, where a line would need two
        y = TOP + plot_h - plot_h * values[0] / top
        line = f'<circle class="bar" cx="{LEFT + 4}" cy="{y:.1f}" r="4"/>'

    return _frame(title, desc, body + line, width, height)


def hbar_chart(values: Sequence[int], labels: Sequence[str], *, title: str, desc: str,
               width: int = WIDTH) -> Markup:
    """Horizontal bars with their labels and values: categories (ticket types, reasons)."""
    row, label_w = 26, 180
    height = max(len(values), 1) * row + 4
    top = max(max(values, default=0), 1)
    parts = []
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        y = i * row + 2
        w = (width - label_w - 70) * value / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end">'
                     f'{escape(label[:28])}</text>'
                     f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{w:.1f}" '
                     f'height="{row - 8}"/>'
                     f'<text x="{label_w + w + 6:.1f}" y="{y + 17}">{value:,}</text>')
    return _frame(title, desc, "".join(parts), width, height)
