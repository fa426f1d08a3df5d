"""What the sentinel measured, for incidents that are not error spikes (latency, traffic):
the report's `measurement` section and the words of its summary. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.timefmt import duration

TITLE = "What was measured"


def measurement_of(incident: Mapping[str, Any]) -> dict[str, Any] | None:
    """The measurement of an anomaly incident (its stored detection); None for error incidents."""
    if incident.get("kind", "errors") == "errors":
        return None
    detection = (incident.get("analysis") or {}).get("detection") or {}
    return dict(detection) if detection.get("anomaly") else None


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def headline(m: Mapping[str, Any]) -> str:
    """`checkout POST /pay p95 latency 812 ms, 6.7x its baseline of 120 ms`."""
    if m["anomaly"] == "latency":
        ratio = f", {m['ratio']:g}x its baseline of {_ms(m['baseline_ms'])}" if m.get("ratio") else ""
        return f"{m['service']} {m['step']} {m['metric']} {_ms(m['current_ms'])}{ratio}"
    what = "surged" if m["anomaly"] == "traffic_surge" else "dropped"
    ratio = f" ({m['ratio']:g}x its baseline of {m['baseline']:g})" if m.get("ratio") is not None else ""
    return f"{m['service']} traffic {what} to {m['current']} requests per {duration(m['window_seconds'])} window{ratio}"


def lines(m: Mapping[str, Any]) -> list[str]:
    """The section's lines: current value, baseline and how it was formed, thresholds, samples."""
    window = duration(m["window_seconds"])
    held = f"held for {m['persisted_ticks']} consecutive ticks before the incident opened"
    if m["anomaly"] == "latency":
        priors = ", ".join(f"{_ms(p['p_ms'])} ({p['requests']} req)" for p in m.get("prior_windows") or [])
        return [
            f"{m['metric']} of {m['service']} {m['step']}: {_ms(m['current_ms'])} over {m['requests']} timed"
            f" requests in the last {window} window",
            f"baseline: {_ms(m['baseline_ms'])}, the median of {m['qualifying_windows']} prior windows with at least"
            f" {m['min_requests']} requests",
            f"prior windows, oldest first: {priors or 'none'}",
            f"thresholds: at least {m['factor']:g}x the baseline and at least {_ms(m['floor_ms'])}; {held}",
        ]
    threshold = (f"at least {m['threshold']:g}x" if m["anomaly"] == "traffic_surge"
                 else f"at most {m['threshold']:g}x (and above zero)")
    priors = ", ".join(str(n) for n in m.get("prior_windows") or [])
    return [
        f"requests of {m['service']} in the last {window} window: {m['current']}",
        f"baseline: {m['baseline']:g}, the median of the prior windows (oldest first: {priors or 'none'})",
        f"threshold: {threshold} the baseline, judged only with a baseline of {m['min_events']} or more; {held}",
    ]
