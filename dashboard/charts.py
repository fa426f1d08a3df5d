"""Geometry for the server-drawn pictures: the errors-per-window chart and the causal path.

Pure: numbers and report sections in, shapes and labels out; templates draw them as SVG or
HTML. Nothing here reads the store or decides anything about the incident.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.timefmt import duration

WINDOWS_BEFORE = 5
WINDOWS_AFTER = 10
ZERO_BAR = 1.5


def window_edges(onset: float, window: float, bucket: float, until: float, *, before: int = WINDOWS_BEFORE,
                 after: int = WINDOWS_AFTER) -> list[float]:
    """Edges of whole detection windows on the counter grid: `before` windows ending at the
    onset's bucket, then up to `after` windows from it, none starting after `until`."""
    start = math.floor(onset / bucket) * bucket - before * window
    edges = [start]
    while len(edges) <= before + after and edges[-1] <= until:
        edges.append(edges[-1] + window)
    return edges if len(edges) > 1 else [start, start + window]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    start: float
    label: str  # the window's start relative to the onset: `-5m`, `+30s`
    after_onset: bool  # the window holds the onset or comes after it


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    onset_x: float | None
    top: int  # the count the top of the plot stands for
    plot_top: float
    plot_bottom: float


def bar_chart(counts: Sequence[int], edges: Sequence[float], onset: float, *, width: int = 640,
              height: int = 160) -> BarChart:
    """Bars for `counts[i]` in [edges[i], edges[i+1]) with the onset marked."""
    left, right, top_pad, bottom_pad = 36.0, 8.0, 12.0, 22.0
    plot_w, plot_h = width - left - right, height - top_pad - bottom_pad
    top = max(max(counts, default=0), 1)
    slot = plot_w / max(len(counts), 1)
    bars = []
    for i, count in enumerate(counts):
        # An empty window keeps a sliver of a bar: the window was counted, and held nothing.
        h = max(plot_h * count / top, ZERO_BAR)
        bars.append(Bar(round(left + i * slot + slot * 0.12, 1), round(top_pad + plot_h - h, 1),
                        round(slot * 0.76, 1), round(h, 1), count, edges[i], _relative(edges[i] - onset),
                        edges[i + 1] > onset))
    span = edges[-1] - edges[0]
    onset_x = round(left + plot_w * (onset - edges[0]) / span, 1) if span and edges[0] <= onset <= edges[-1] else None
    return BarChart(width, height, bars, onset_x, top, top_pad, top_pad + plot_h)


def _relative(offset: float) -> str:
    return "0" if abs(offset) < 0.5 else f"{'-' if offset < 0 else '+'}{duration(offset)}"


@dataclass(frozen=True)
class PathNode:
    service: str
    what: str  # the step, or "calls <peer>"
    error_code: str | None
    failed: bool
    external: bool  # a dependency that sends no spans of its own
    origin: bool  # where the failure starts


def path_nodes(where: Mapping[str, Any]) -> list[PathNode]:
    """The causal path of a report's `where_it_started`, one node per service hop: a call is
    folded into the callee's own request when that follows; a call to something that sends
    nothing (an external dependency) is its own node. The last failing node is the origin."""
    steps = where.get("path") or []
    nodes: list[PathNode] = []
    for index, step in enumerate(steps):
        failed = step.get("status") == "error"
        if step.get("kind") == "dependency":
            after = steps[index + 1] if index + 1 < len(steps) else None
            if after is not None and after.get("kind") == "request" and after.get("service") == step.get("peer"):
                continue
            nodes.append(PathNode(step.get("peer") or step["step"], f"called by {step['service']}: {step['step']}",
                                  step.get("error_code"), failed, True, False))
        else:
            nodes.append(PathNode(step["service"], step["step"], step.get("error_code"), failed, False, False))
    failing = [i for i, node in enumerate(nodes) if node.failed]
    if failing:
        last = nodes[failing[-1]]
        nodes[failing[-1]] = PathNode(last.service, last.what, last.error_code, True, last.external, True)
    return nodes
