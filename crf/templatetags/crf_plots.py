"""Template tags for the crf pages' SVG plots."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape as escape
from django.utils.safestring import SafeString, mark_safe

from crf import charts

register = template.Library()


def _line(line: charts.Line) -> str:
    polyline = f'<polyline points="{escape(line.polyline)}"/>' if len(line.points) > 1 else ""
    circles = "".join(
        f'<circle cx="{p.x}" cy="{p.y}" r="3.5"><title>{escape(p.title)}</title></circle>'
        for p in line.points
    )
    label = escape(line.label)
    return (
        f'<g class="series {escape(line.css_class)}" data-series="{label}">\n'
        f"    {polyline}\n"
        f"    {circles}\n"
        f'    <text class="series-label" x="{int(line.end.x) + 8}" y="{line.label_y}" '
        f'dominant-baseline="middle">{label}</text>\n'
        "  </g>"
    )


@register.simple_tag
def plot_lines(plot: charts.Plot) -> SafeString:
    """The plot's series as SVG groups (one per participant).

    Built here rather than by template loops: a plot of every participant of a site has
    thousands of points, and rendering them through the template language was most of
    the outcome review's time at 20,000 participants (issue 10).  Every text is escaped.
    """
    return mark_safe("".join(_line(line) for line in plot.lines))  # noqa: S308
