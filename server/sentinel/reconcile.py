"""Findings against the active health alerts: what to raise, what to clear. Pure.

Each check owns some keys and returns what is wrong now among them; an active alert of an
owned key that the check no longer finds is cleared, with the check's reason when it gave
one. Keys a check does not own are never touched by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from server.sentinel.model import ActiveAlert, Clear, Finding, HealthWrites, Raise, health_alert_id

AlertKey = tuple[str, str]  # (key, scope)


@dataclass(frozen=True)
class CheckResult:
    keys: frozenset[str]
    bad: dict[AlertKey, Finding] = field(default_factory=dict)
    clear_reasons: dict[AlertKey, str] = field(default_factory=dict)


def reconcile(result: CheckResult, active: Mapping[AlertKey, ActiveAlert], now: float) -> HealthWrites:
    writes = HealthWrites()
    for ident, finding in sorted(result.bad.items()):
        if ident not in active:
            writes.raises.append(Raise(health_alert_id(finding.key, finding.scope, now), finding, now))
    for ident, alert in sorted(active.items()):
        if alert.key in result.keys and ident not in result.bad:
            writes.clears.append(Clear(alert, now, result.clear_reasons.get(ident, "the condition no longer holds")))
    return writes
