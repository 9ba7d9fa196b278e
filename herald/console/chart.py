"""The dashboard's chart, drawn on the server as SVG shapes (no script): one stacked bar
per day, a segment per channel, with a scale of round numbers. Pure: the dashboard's days
in, rectangles and ticks out; the page only writes them down (and puts the same numbers in
a table beside it, for screen readers and exact figures)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 640
HEIGHT = 260
LEFT = 44  # room for the scale's labels
BOTTOM = 28  # room for the days' labels
TOP = 26  # room for the tallest bar's total above it
# A colour per channel (also the legend's), distinct for the colour-blind as well.
COLORS = {"email": "#2f6fd6", "sms": "#e08a1e", "whatsapp": "#1f9d6b", "in_app": "#8b5cf6"}
ORDER = ("email", "sms", "whatsapp", "in_app")


@dataclass(frozen=True)
class Segment:
    channel: str
    count: int
    x: float
    y: float
    width: float
    height: float
    color: str


@dataclass(frozen=True)
class Bar:
    date: str
    total: int
    x: float  # the bar's centre, for its label
    segments: list[Segment]


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    channels: list[str]  # those with a message, in the legend's order
    colors: dict[str, str]


def nice_top(peak: int) -> tuple[int, int]:
    """The scale's top and step: a round number at or above ``peak`` in 4 or 5 steps."""
    if peak <= 0:
        return 4, 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500):
        if peak <= step * 5:
            return step * -(-peak // step), step
    magnitude = 10 ** (len(str(peak)) - 1)
    step = magnitude if peak <= magnitude * 5 else magnitude * 2
    return step * -(-peak // step), step


def stacked_bars(days: list[dict[str, Any]]) -> Chart:
    """The chart of ``days`` (the dashboard's ``days``: date, total, by_channel)."""
    peak = max((d["total"] for d in days), default=0)
    top, step = nice_top(peak)
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = float(HEIGHT - BOTTOM)
    slot = (WIDTH - LEFT) / max(len(days), 1)
    bar_width = min(56.0, slot * 0.6)
    present = {c for d in days for c, n in d["by_channel"].items() if n}
    channels = [c for c in ORDER if c in present] + sorted(present - set(ORDER))
    bars: list[Bar] = []
    for index, day in enumerate(days):
        centre = LEFT + slot * index + slot / 2
        y = baseline
        segments: list[Segment] = []
        for channel in channels:
            count = int(day["by_channel"].get(channel, 0))
            if not count:
                continue
            height = plot_height * count / top
            y -= height
            segments.append(
                Segment(
                    channel,
                    count,
                    round(centre - bar_width / 2, 2),
                    round(y, 2),
                    round(bar_width, 2),
                    round(height, 2),
                    COLORS.get(channel, "#64748b"),
                )
            )
        bars.append(Bar(day["date"], int(day["total"]), round(centre, 2), segments))
    ticks = [
        Tick(value, round(baseline - plot_height * value / top, 2))
        for value in range(0, top + 1, step)
    ]
    return Chart(WIDTH, HEIGHT, LEFT, baseline, bars, ticks, channels, COLORS)
