"""Charts drawn on the server as inline SVG: no chart library, no tile server, nothing fetched.

Each function takes plain figures and returns escaped SVG markup, sized by its ``viewBox`` so
that CSS scales it to the page (and to paper, in the report).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from markupsafe import Markup, escape

from dispatch.stats import Checkpoint

BRAND, BAD, MUTED, LINE = "#0b5d7a", "#b3261e", "#5d6b78", "#d5dde4"


def _svg(width: int, height: int, body: str, label: str) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
                  f'role="img" aria-label="{escape(label)}">{body}</svg>')


def bar_chart(values: Mapping[str, int], *, label: str, width: int = 480) -> Markup:
    """Horizontal bars, largest first, each with its name and count."""
    rows = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    bar_h, gap, name_w, pad = 22, 8, 150, 40
    height = max(1, len(rows)) * (bar_h + gap) + gap
    top = max((v for _, v in rows), default=0) or 1
    parts = []
    for i, (name, value) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        length = (width - name_w - pad) * value / top
        parts.append(
            f'<text x="{name_w - 6}" y="{y + bar_h * 0.72:.1f}" text-anchor="end" '
            f'font-size="13" fill="{MUTED}">{escape(name)}</text>'
            f'<rect x="{name_w}" y="{y}" width="{length:.1f}" height="{bar_h}" rx="3" '
            f'fill="{BRAND}"><title>{escape(name)}: {value}</title></rect>'
            f'<text x="{name_w + length + 5:.1f}" y="{y + bar_h * 0.72:.1f}" font-size="13" '
            f'fill="#1b2733">{value}</text>')
    return _svg(width, height, "".join(parts), label)


def trend_chart(per_day: Mapping[date, int], first: date, last: date, *, label: str,
                width: int = 640, height: int = 200) -> Markup:
    """One column per day from ``first`` to ``last`` (days without orders are zero), with a
    scale on the left and the first and last dates below."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    left, bottom, top_pad = 36, 24, 10
    plot_w, plot_h = width - left - 6, height - bottom - top_pad
    top = max([per_day.get(d, 0) for d in days] + [1])
    step = plot_w / max(1, len(days))
    parts = [f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 6}" y2="{top_pad + plot_h}" '
             f'stroke="{LINE}"/>']
    for tick in sorted({0, top // 2, top}):
        y = top_pad + plot_h - plot_h * tick / top
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="{MUTED}">{tick}</text><line x1="{left}" y1="{y:.1f}" '
                     f'x2="{width - 6}" y2="{y:.1f}" stroke="{LINE}" stroke-dasharray="3 3"/>')
    for i, day in enumerate(days):
        value = per_day.get(day, 0)
        h, x = plot_h * value / top, left + i * step + step * 0.15
        parts.append(f'<rect x="{x:.1f}" y="{top_pad + plot_h - h:.1f}" '
                     f'width="{max(step * 0.7, 1):.1f}" height="{h:.1f}" fill="{BRAND}">'
                     f'<title>{day.isoformat()}: {value}</title></rect>')
    for day, anchor, x in ((days[0], "start", left), (days[-1], "end", width - 6)):
        parts.append(f'<text x="{x}" y="{height - 6}" text-anchor="{anchor}" font-size="11" '
                     f'fill="{MUTED}">{day.isoformat()}</text>')
    return _svg(width, height, "".join(parts), label)


def checkpoint_map(points: Sequence[Checkpoint], *, label: str, width: int = 640,
                   height: int = 400) -> Markup:
    """Cameras placed by latitude and longitude (equirectangular, longitude scaled by the
    cosine of the mean latitude so distances look right), a dot per camera sized by its
    orders, red where one is overdue. Cameras without coordinates are left out."""
    placed = [p for p in points if p.lat is not None and p.lon is not None]
    if not placed:
        return _svg(width, 60, f'<text x="10" y="35" font-size="14" fill="{MUTED}">'
                               f'{escape(label)}: —</text>', label)
    scale_x = math.cos(math.radians(sum(p.lat for p in placed) / len(placed)))  # type: ignore[misc]
    xs = [p.lon * scale_x for p in placed]  # type: ignore[operator]
    ys = [p.lat for p in placed]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 0.01)  # at least ~1 km across
    pad = 40
    unit = min(width - 2 * pad, height - 2 * pad) / span
    mid_x, mid_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    most = max(p.orders for p in placed) or 1
    parts = [f'<rect width="{width}" height="{height}" fill="#eaf3f7" rx="8"/>']
    # Points that share a place are spread on a small circle so each stays visible.
    seen: dict[tuple[float, float], int] = {}
    for point, x0, y0 in zip(placed, xs, ys, strict=True):
        cx = width / 2 + (x0 - mid_x) * unit
        cy = height / 2 - (y0 - mid_y) * unit
        n = seen.get((round(cx), round(cy)), 0)
        seen[round(cx), round(cy)] = n + 1
        if n:
            cx += 22 * math.cos(n * 2.4)
            cy += 22 * math.sin(n * 2.4)
        radius = 6 + 12 * math.sqrt(point.orders / most)
        colour = BAD if point.overdue else BRAND
        title = (f"{point.device}/{point.camera} {point.place}: {point.orders} · "
                 f"{point.open} · {point.overdue}")
        parts.append(
            f'<g class="checkpoint" data-camera="{escape(point.camera)}">'
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius:.1f}" fill="{colour}" '
            f'fill-opacity="0.8" stroke="#fff" stroke-width="2"><title>{escape(title)}</title>'
            f'</circle><text x="{cx + radius + 4:.1f}" y="{cy + 4:.1f}" font-size="12" '
            f'fill="#1b2733">{escape(point.camera)} ({point.orders})</text></g>')
    return _svg(width, height, "".join(parts), label)
