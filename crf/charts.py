"""Server-side SVG geometry for the outcome page: no chart library, no script.

Pure functions: series in, coordinates out; ``templates/crf/includes/*_plot.svg.html``
only draws what these return, so the geometry is tested without a browser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from trialsite.protocol import (
    B_CELL_DEPLETION_ABSOLUTE_10E6_L,
    CHART_LAST_DAY,
    CHART_TICK_DAYS,
    ESSDAI_HIGH_FROM,
    ESSDAI_MODERATE_FROM,
)

WIDTH = 640
HEIGHT = 320
LEFT = 48
RIGHT = 110  # room for the participant labels at the end of the lines
TOP = 16
BOTTOM = 40
LABEL_GAP = 12  # minimum vertical distance between two end labels
PALETTE_SIZE = 8  # series-0 .. series-7 in static/css/crf.css


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Line:
    label: str
    points: tuple[Point, ...]
    css_class: str
    label_y: float  # where the end label sits (dodged so labels do not overlap)

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)

    @property
    def end(self) -> Point:
        return self.points[-1]


@dataclass(frozen=True)
class Band:
    y: float
    label: str


@dataclass(frozen=True)
class Plot:
    width: int
    height: int
    left: int
    right: float  # x of the right edge of the plotting area
    top: int
    bottom: float  # y of the x axis
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    lines: tuple[Line, ...]
    bands: tuple[Band, ...]  # horizontal reference lines
    n_series: int  # series given, including those with nothing to draw

    @property
    def is_empty(self) -> bool:
        return not self.lines


PairedPlot = Plot
TrendPlot = Plot


@dataclass(frozen=True)
class PairedSeries:
    label: str
    values: tuple[int | Decimal | None, ...]  # one per time point; None: not measured
    improved: bool | None  # MCII reached at the last time point (None: not assessable)


@dataclass(frozen=True)
class TrendSeries:
    label: str
    points: tuple[tuple[int, Decimal], ...]  # (study day, value)


def _dodge(wanted: list[float], low: float, high: float) -> list[float]:
    """Positions near ``wanted`` at least LABEL_GAP apart (order kept), within the plot."""
    order = sorted(range(len(wanted)), key=lambda i: wanted[i])
    placed = [0.0] * len(wanted)
    previous = low - LABEL_GAP
    for i in order:
        placed[i] = max(wanted[i], previous + LABEL_GAP)
        previous = placed[i]
    overflow = previous - high
    if overflow > 0:
        placed = [y - overflow for y in placed]
    return [round(y, 1) for y in placed]


def _nice_max(value: float, step: int) -> int:
    return max(step, int(math.ceil(value / step)) * step)


def paired_plot(
    series: list[PairedSeries], *, time_points: tuple[str | Promise, ...]
) -> PairedPlot:
    """ESSDAI per participant across the time points, one line each (missing points skipped)."""
    values = [float(v) for s in series for v in s.values if v is not None]
    y_max = _nice_max(max(values + [ESSDAI_HIGH_FROM + 4]) + 1, 5)
    step = 5 if y_max <= 40 else 10
    right = WIDTH - RIGHT
    bottom = HEIGHT - BOTTOM
    n = len(time_points)

    def x(index: int) -> float:
        return round(LEFT + 30 + index * (right - LEFT - 60) / max(n - 1, 1), 1)

    def y(value: float) -> float:
        return round(bottom - value * (bottom - TOP) / y_max, 1)

    drawn = []
    for index, s in enumerate(series):
        points = tuple(
            Point(x(i), y(float(v)), f"{s.label} · {time_points[i]}: {v}")
            for i, v in enumerate(s.values)
            if v is not None
        )
        if not points:
            continue
        css = {True: "mcii", False: "no-mcii", None: "not-assessable"}[s.improved]
        drawn.append((s.label, points, f"{css} series-{index % PALETTE_SIZE}"))
    label_ys = _dodge([p[-1].y for _l, p, _c in drawn], TOP, bottom)
    return Plot(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=right,
        top=TOP,
        bottom=bottom,
        x_ticks=tuple(Tick(x(i), str(label)) for i, label in enumerate(time_points)),
        y_ticks=tuple(Tick(y(v), str(v)) for v in range(0, y_max + 1, step)),
        lines=tuple(
            Line(label, points, css, label_y)
            for (label, points, css), label_y in zip(drawn, label_ys, strict=True)
        ),
        bands=(
            Band(y(ESSDAI_MODERATE_FROM), _("moderate ≥ %(n)s") % {"n": ESSDAI_MODERATE_FROM}),
            Band(y(ESSDAI_HIGH_FROM), _("high ≥ %(n)s") % {"n": ESSDAI_HIGH_FROM}),
        ),
        n_series=len(series),
    )


# Counts below 1 ×10⁶/L are drawn on the floor of the log scale.
_LOG_FLOOR = Decimal(1)


def trend_plot(series: list[TrendSeries], *, last_day: int = CHART_LAST_DAY) -> TrendPlot:
    """CD19⁺ B cells (×10⁶/L, log scale) over study days, with the SCH2 depletion line."""
    right = WIDTH - RIGHT
    bottom = HEIGHT - BOTTOM
    days = [day for s in series for day, _v in s.points]
    counts = [max(v, _LOG_FLOOR) for s in series for _d, v in s.points]
    first = min([0, *days])
    last = max([last_day, *days])
    decades = max(2, math.ceil(math.log10(float(max(counts + [Decimal(100)])))))

    def x(day: int) -> float:
        return round(LEFT + 10 + (day - first) * (right - LEFT - 20) / max(last - first, 1), 1)

    def y(value: Decimal) -> float:
        log = math.log10(float(max(value, _LOG_FLOOR)))
        return round(bottom - log * (bottom - TOP) / decades, 1)

    title = _("%(label)s · day %(day)s: %(value)s ×10⁶/L")  # translated once, not per point
    drawn = []
    for index, s in enumerate(series):
        points = tuple(
            Point(
                x(day),
                y(value),
                title % {"label": s.label, "day": day, "value": value.normalize()},
            )
            for day, value in s.points
        )
        drawn.append((s.label, points, f"series-{index % PALETTE_SIZE}"))
    label_ys = _dodge([p[-1].y for _l, p, _c in drawn], TOP, bottom)
    x_ticks = tuple(
        Tick(x(day), _("day %(day)s") % {"day": day})
        for day in range(
            0 if first >= 0 else first - first % CHART_TICK_DAYS, last + 1, CHART_TICK_DAYS
        )
        if day >= first
    )
    return Plot(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=right,
        top=TOP,
        bottom=bottom,
        x_ticks=x_ticks,
        y_ticks=tuple(Tick(y(Decimal(10) ** k), str(10**k)) for k in range(decades + 1)),
        lines=tuple(
            Line(label, points, css, label_y)
            for (label, points, css), label_y in zip(drawn, label_ys, strict=True)
        ),
        bands=(
            Band(
                y(B_CELL_DEPLETION_ABSOLUTE_10E6_L),
                _("depleted < %(n)s") % {"n": B_CELL_DEPLETION_ABSOLUTE_10E6_L},
            ),
        ),
        n_series=len(series),
    )
