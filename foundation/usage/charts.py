"""Bar charts of usage per day, drawn on the server as inline SVG (nothing fetched by the
browser): one bar per day, stacked by series, the exact figure in each bar's tooltip."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 1000, 190
LEFT, RIGHT, TOP, BOTTOM = 74, 8, 10, 24
# Distinguishable in the admin's light and dark themes alike.
COLOURS = ("#2f6fb3", "#e08a1e", "#3a9a5b", "#b4475d", "#7b5fb8", "#6b7a8a")


def size_text(value: float) -> str:
    """Bytes as people read them (decimal units, as bills use)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.0f} B"


def seconds_text(value: float) -> str:
    if value >= 3600:
        return f"{int(value // 3600)} h {int(value % 3600 // 60):02d} min"
    if value >= 60:
        return f"{int(value // 60)} min {int(value % 60):02d} s"
    return f"{value:.3g} s" if value else "0 s"


def _ceiling(peak: float) -> float:
    """A round top for the axis: 1, 2 or 5 times a power of ten, at or above the peak."""
    if peak <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(peak))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= peak)


# Round tops for an axis of time: seconds, minutes and hours people count in.
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
               43200, 86400)


def time_ceiling(peak: float) -> float:
    if peak > _TIME_STEPS[-1]:
        return _TIME_STEPS[-1] * _ceiling(peak / _TIME_STEPS[-1])
    return next(step for step in _TIME_STEPS if step >= peak) if peak > 0 else 60.0


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]


def bar_chart(*, title: str, days: Sequence[str], series: Sequence[Series],
              text: Callable[[float], str],
              ceiling: Callable[[float], float] = _ceiling) -> SafeString:
    """An SVG of stacked bars, one per day; `text` writes a value for people, `ceiling`
    rounds the highest bar up to the top of the axis."""
    totals = [sum(s.values[i] for s in series) for i in range(len(days))]
    top = ceiling(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.72, 1.0)
    parts = []
    for fraction in (0, 0.5, 1):  # gridlines with their values
        y = TOP + plot_h * (1 - fraction)
        parts.append(format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" class="grid"/>'
            '<text x="{}" y="{}" class="axis" text-anchor="end">{}</text>',
            LEFT, WIDTH - RIGHT, f"{y:.1f}", f"{y:.1f}", LEFT - 6, f"{y + 4:.1f}",
            text(top * fraction)))
    for i, day in enumerate(days):
        x = LEFT + slot * i + (slot - bar) / 2
        base = TOP + plot_h
        for n, s in enumerate(series):
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            base -= h
            parts.append(format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                '<title>{} {}: {}</title></rect>',
                f"{x:.1f}", f"{base:.1f}", f"{bar:.1f}", f"{max(h, 0.5):.1f}",
                COLOURS[n % len(COLOURS)], day, s.label, text(value)))
    step = max(1, math.ceil(len(days) / 10))  # at most about ten dates along the bottom
    for i in range(0, len(days), step):
        parts.append(format_html('<text x="{}" y="{}" class="axis" text-anchor="middle">{}</text>',
                                 f"{LEFT + slot * (i + 0.5):.1f}", HEIGHT - 6, days[i][5:]))
    legend = format_html_join("", '<span class="usage-key"><i style="background:{}"></i>{}</span>',
                              ((COLOURS[n % len(COLOURS)], s.label)
                               for n, s in enumerate(series))) if len(series) > 1 else ""
    return format_html(
        '<figure class="usage-chart"><figcaption>{} <span class="usage-legend">{}</span>'
        '</figcaption><svg viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg></figure>',
        title, legend, WIDTH, HEIGHT, title, mark_safe("".join(parts)))  # noqa: S308 (escaped above)
