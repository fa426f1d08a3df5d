"""Is each service still sending? Counts per window in, findings out. Pure.

Each service (service, env) has a rolling baseline: the median of its events in the
`baseline_windows` windows before the ones judged. Only a steady service (baseline at
least `min_events` per window) is judged: a service that sends a few events an hour is
never "silent".

* service_silent (critical): not one event in the last `silent_windows` windows.
  Clears as soon as an event arrives.
* rate_collapse (warning): the current window holds events but fewer than
  `collapse_fraction` of the baseline, and so does the rate of its newest buckets, which
  must not be zero. A window lags: a service that just stopped drains it on the way to
  silent (its newest buckets are empty), and one that just came back refills it (its
  newest buckets are full); neither is a collapse. Judged against the baseline frozen
  when it was raised (a lasting collapse must not become its own baseline); clears when
  the window is back above the fraction.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from server.sentinel.model import ActiveAlert, Finding, service_scope
from server.sentinel.reconcile import AlertKey, CheckResult

SILENT, COLLAPSE = "service_silent", "rate_collapse"


@dataclass(frozen=True)
class FreshnessSettings:
    baseline_windows: int
    min_events: int
    silent_windows: int
    collapse_fraction: float
    window_seconds: float


@dataclass(frozen=True)
class ServiceTraffic:
    """One service's events per window, oldest first; the last is the current window
    (`baseline_windows + silent_windows` of them). `recent_per_window`: the rate of its
    newest two buckets, scaled to a window. `last_seen`: end of its newest bucket holding an
    event (None: none seen)."""

    service: str
    env: str
    windows: tuple[int, ...]
    recent_per_window: float
    last_seen: float | None


def baseline(counts: Iterable[int]) -> float:
    values = list(counts)
    return float(statistics.median(values)) if values else 0.0


def check_freshness(traffic: Iterable[ServiceTraffic], active: Mapping[AlertKey, ActiveAlert],
                    settings: FreshnessSettings, now: float) -> CheckResult:
    """What is silent or collapsed now. A service with an active alert but no traffic row
    at all (it stopped before the lookback) is still silent."""
    result = CheckResult(frozenset({SILENT, COLLAPSE}))
    seen = set()
    for t in traffic:
        seen.add((t.service, t.env))
        _judge(t, active, settings, now, result)
    for (key, scope), alert in active.items():
        if key == SILENT and (alert.service, alert.env) not in seen:
            result.bad[(key, scope)] = _silent_finding(alert.service or "", alert.env or "", alert.details,
                                                       alert.stale_since, settings)
    return result


def _silent_finding(service: str, env: str, details: Mapping, stale_since: float | None,
                    settings: FreshnessSettings) -> Finding:
    windows = settings.silent_windows
    span = f"{windows} window{'s' if windows > 1 else ''} ({windows * settings.window_seconds:g}s)"
    return Finding(SILENT, service_scope(service, env),
                   f"{service} ({env}) sent no events for {span}; its baseline is"
                   f" {details.get('baseline', 0):g} events per window",
                   service, env, stale_since, dict(details))


def _judge(t: ServiceTraffic, active: Mapping[AlertKey, ActiveAlert], settings: FreshnessSettings, now: float,
           result: CheckResult) -> None:
    scope = service_scope(t.service, t.env)
    k = settings.silent_windows
    current = t.windows[-1]
    silent_base = baseline(t.windows[:-k][-settings.baseline_windows:])
    collapse_base = baseline(t.windows[:-1][-settings.baseline_windows:])
    steady = silent_base >= settings.min_events

    silent_now = all(n == 0 for n in t.windows[-k:])
    collapse = active.get((COLLAPSE, scope))
    if (SILENT, scope) in active:
        if silent_now:
            result.bad[(SILENT, scope)] = _silent_finding(t.service, t.env, active[(SILENT, scope)].details,
                                                          active[(SILENT, scope)].stale_since, settings)
        else:
            result.clear_reasons[(SILENT, scope)] = f"traffic returned: {current} events in the current window"
    elif silent_now and (steady or collapse is not None):
        base = collapse.details.get("baseline", silent_base) if collapse is not None else silent_base
        result.bad[(SILENT, scope)] = _silent_finding(
            t.service, t.env, {"baseline": base, "windows": list(t.windows), "silent_windows": k},
            t.last_seen if t.last_seen is not None else now - len(t.windows) * settings.window_seconds, settings)

    if collapse is not None:
        frozen = float(collapse.details.get("baseline", collapse_base))
        threshold = settings.collapse_fraction * frozen
        if current < threshold:
            # Still collapsed (or gone silent, which service_silent reports besides).
            result.bad[(COLLAPSE, scope)] = Finding(COLLAPSE, scope, collapse.reason, t.service, t.env, None,
                                                    {**collapse.details, "current": current})
        else:
            result.clear_reasons[(COLLAPSE, scope)] = (f"rate recovered: {current} events in the current window,"
                                                       f" at least {threshold:g}")
        return
    threshold = settings.collapse_fraction * collapse_base
    if collapse_base >= settings.min_events and 0 < current < threshold and 0 < t.recent_per_window < threshold:
        share = current / collapse_base
        result.bad[(COLLAPSE, scope)] = Finding(
            COLLAPSE, scope,
            f"{t.service} ({t.env}) sent {current} events in the current window, {share:.0%} of its baseline of"
            f" {collapse_base:g} (below {settings.collapse_fraction:.0%})",
            t.service, t.env, None,
            {"baseline": collapse_base, "current": current, "fraction": settings.collapse_fraction,
             "windows": list(t.windows)})
