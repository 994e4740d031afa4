"""Growth charts drawn on the server as inline SVG: the WHO SD curves
(indicators.growth_curves, from the tables the z-scores use) and the child's points,
flagged ones marked. No chart library, no script: the page stays light and prints."""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

from indicators.anthro import DAYS_PER_MONTH, SEX_FEMALE, SEX_MALE
from indicators.growth_curves import curves, key_range

WIDTH, HEIGHT = 640, 380
LEFT, RIGHT, TOP, BOTTOM = 48, 44, 14, 40
_SEX = {"male": SEX_MALE, "female": SEX_FEMALE}
_FLAG = {"length_height_for_age": "flen", "weight_for_age": "fwei",
         "weight_for_length": "fwfl", "weight_for_height": "fwfl"}


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    flagged: bool
    label: str


def _points(chart: str, measurements: list) -> list[Point]:
    out = []
    for m in measurements:
        age = m["age_days"]
        if chart == "length_height_for_age":
            x, y = (None if age is None else age / DAYS_PER_MONTH), m["clenhei"]
        elif chart == "weight_for_age":
            x, y = (None if age is None else age / DAYS_PER_MONTH), m["weight_kg"]
        else:
            wanted = "L" if chart == "weight_for_length" else "H"
            if m["cmeasure"] != wanted:
                continue
            x, y = m["clenhei"], m["weight_kg"]
        if x is None or y is None:
            continue
        flagged = bool(m[_FLAG[chart]]) or bool(m["plausibility_flags"]) or bool(m["c9mo_flag"])
        z = m[{"length_height_for_age": "zlen", "weight_for_age": "zwei"}.get(chart, "zwfl")]
        label = f"{m['measured_on']}: {y:g}" + (f" (z {z:+.2f})" if z is not None else "")
        if flagged:
            label += " !" + (f" {m['plausibility_flags']}" if m["plausibility_flags"] else "")
        out.append(Point(float(x), float(y), flagged, label))
    return out


def charts_for(measurements: list, sex: str | None) -> list[str]:
    """Which charts a child's page shows: both age charts, and weight-for-length or
    -height for each measure the child has (length under 2 years, height after)."""
    if sex not in _SEX:
        return []
    names = ["length_height_for_age", "weight_for_age"]
    measures = {m["cmeasure"] for m in measurements}
    if "L" in measures or not measures - {None}:
        names.append("weight_for_length")
    if "H" in measures:
        names.append("weight_for_height")
    return names


def _x_range(chart: str, points: list[Point]) -> tuple[float, float]:
    low, high = key_range(chart)
    if chart in ("length_height_for_age", "weight_for_age"):
        oldest = max((p.x for p in points), default=0.0)
        return 0.0, float(min(60, max(24, math.ceil((oldest + 1) / 12) * 12)))
    if not points:
        return low, high
    return (max(low, math.floor(min(p.x for p in points) / 5) * 5 - 5),
            min(high, math.ceil(max(p.x for p in points) / 5) * 5 + 5))


def _ticks(low: float, high: float, count: int = 6) -> list[float]:
    raw = (high - low) / count
    step = min((s for s in (1, 2, 3, 5, 6, 10, 12, 20, 25, 50) if s >= raw), default=raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def growth_chart(chart: str, sex: str, measurements: list, *, title: str, x_label: str,
                 y_label: str, flagged_label: str) -> Markup:
    points = _points(chart, measurements)
    x0, x1 = _x_range(chart, points)
    sd = curves(chart, _SEX[sex], x_from=x0, x_to=x1, points=121)
    values = [v for line in sd.lines.values() for v in line] + [p.y for p in points]
    y0 = math.floor(min(values) * 0.95)
    y1 = math.ceil(max(values) * 1.03)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return TOP + plot_h - (y - y0) / (y1 - y0) * plot_h

    parts = [f'<svg class="growth-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" data-chart="{chart}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}"/>']
    for x in _ticks(x0, x1):
        parts.append(f'<line class="grid" x1="{px(x):.1f}" y1="{TOP}" x2="{px(x):.1f}" '
                     f'y2="{TOP + plot_h}"/><text class="tick" x="{px(x):.1f}" '
                     f'y="{TOP + plot_h + 14}" text-anchor="middle">{x:g}</text>')
    for y in _ticks(y0, y1, 8):
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{py(y):.1f}" x2="{LEFT + plot_w}" '
                     f'y2="{py(y):.1f}"/><text class="tick" x="{LEFT - 5}" y="{py(y) + 4:.1f}" '
                     f'text-anchor="end">{y:g}</text>')
    for z, line in sd.lines.items():
        path = " ".join(f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(y):.1f}"
                        for i, (x, y) in enumerate(zip(sd.x, line)))
        parts.append(f'<path class="sd sd{abs(z)}" data-sd="{z}" d="{path}"/>')
        if sd.x:
            parts.append(f'<text class="sd-label" x="{px(sd.x[-1]) + 4:.1f}" '
                         f'y="{py(line[-1]) + 4:.1f}">{z:+d}</text>' if z else
                         f'<text class="sd-label" x="{px(sd.x[-1]) + 4:.1f}" '
                         f'y="{py(line[-1]) + 4:.1f}">0</text>')
    ordered = sorted(points, key=lambda p: p.x)
    if len(ordered) > 1:
        path = " ".join(f"{'M' if i == 0 else 'L'}{px(p.x):.1f},{py(p.y):.1f}"
                        for i, p in enumerate(ordered))
        parts.append(f'<path class="child-line" d="{path}"/>')
    for p in ordered:
        cx, cy = px(p.x), py(p.y)
        if p.flagged:
            parts.append(f'<g class="pt pt-flag"><title>{escape(p.label)} ({escape(flagged_label)})'
                         f'</title><path d="M{cx - 6:.1f},{cy - 6:.1f}L{cx + 6:.1f},{cy + 6:.1f}'
                         f'M{cx - 6:.1f},{cy + 6:.1f}L{cx + 6:.1f},{cy - 6:.1f}"/></g>')
        else:
            parts.append(f'<circle class="pt" cx="{cx:.1f}" cy="{cy:.1f}" r="4.5">'
                         f'<title>{escape(p.label)}</title></circle>')
    parts.append(f'<text class="axis" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" '
                 f'text-anchor="middle">{escape(x_label)}</text>'
                 f'<text class="axis" transform="translate(12,{TOP + plot_h / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle">{escape(y_label)}</text></svg>')
    return Markup("".join(parts))


TREND_SERIES = ("stunted", "wasted", "underweight")


def trend_chart(trend: list[dict], *, title: str, names: dict[str, str]) -> Markup:
    """Prevalence per month (percent) of each series, one line each; a month without
    measurements leaves a gap."""
    width, height, left, right, top, bottom = 640, 240, 40, 26, 12, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [m[s] * 100 for m in trend for s in TREND_SERIES if m[s] is not None]
    y1 = max(10.0, math.ceil(max(values, default=0) / 10) * 10)
    step = plot_w / max(len(trend) - 1, 1)

    def px(i: int) -> float:
        return left + i * step

    def py(v: float) -> float:
        return top + plot_h - v / y1 * plot_h

    parts = [f'<svg class="trend-chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
             f'<title>{escape(title)}</title>'
             f'<rect class="plot" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/>']
    for v in _ticks(0, y1, 5):
        parts.append(f'<line class="grid" x1="{left}" y1="{py(v):.1f}" x2="{left + plot_w}" '
                     f'y2="{py(v):.1f}"/><text class="tick" x="{left - 4}" y="{py(v) + 4:.1f}" '
                     f'text-anchor="end">{v:g}%</text>')
    for i, m in enumerate(trend):
        parts.append(f'<text class="tick" x="{px(i):.1f}" y="{top + plot_h + 14}" '
                     f'text-anchor="middle">{escape(m["month"][5:] + "/" + m["month"][2:4])}</text>')
    for k, series in enumerate(TREND_SERIES):
        path, pen = [], "M"
        for i, m in enumerate(trend):
            if m[series] is None:
                pen = "M"
                continue
            path.append(f"{pen}{px(i):.1f},{py(m[series] * 100):.1f}")
            pen = "L"
            parts.append(f'<circle class="tr tr-{series}" cx="{px(i):.1f}" '
                         f'cy="{py(m[series] * 100):.1f}" r="3"><title>{escape(names[series])} '
                         f'{escape(m["month"])}: {m[series] * 100:.1f}%</title></circle>')
        if path:
            parts.append(f'<path class="tr-line tr-{series}" d="{" ".join(path)}"/>')
        parts.append(f'<rect class="tr-key tr-{series}" x="{left + k * 190}" '
                     f'y="{height - 16}" width="12" height="4"/><text class="tick" '
                     f'x="{left + k * 190 + 16}" y="{height - 10}">{escape(names[series])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
