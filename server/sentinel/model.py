"""Plain data of the sentinel: findings, stored health alerts, and what a tick writes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

CRITICAL, WARNING = "critical", "warning"
SEVERITIES = (CRITICAL, WARNING)

# Every health alert key and its severity.
KEYS = {
    "service_silent": CRITICAL,
    "rate_collapse": WARNING,
    "heartbeat_missed": CRITICAL,
    "pipeline_stalled": CRITICAL,
    "sentinel_stale": CRITICAL,
}
ACTIVE, CLEARED = "active", "cleared"


def service_scope(service: str, env: str) -> str:
    return f"service:{service}@{env}"


def health_alert_id(key: str, scope: str, raised_at: float) -> str:
    """`hal_<16 hex>` from what was raised, for what, when."""
    seed = f"{key}|{scope}|{raised_at:.6f}"
    return "hal_" + hashlib.sha256(seed.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Finding:
    """Something the sentinel sees wrong now. `stale_since`: since when no fresh data came
    (None when data still flows, only less of it)."""

    key: str
    scope: str
    reason: str
    service: str | None = None
    env: str | None = None
    stale_since: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return KEYS[self.key]


@dataclass(frozen=True)
class ActiveAlert:
    """A stored health alert not yet cleared."""

    id: str
    key: str
    scope: str
    severity: str
    service: str | None
    env: str | None
    reason: str
    details: dict[str, Any]
    stale_since: float | None
    raised_at: float


@dataclass(frozen=True)
class Raise:
    alert_id: str
    finding: Finding
    at: float

    def as_active(self) -> ActiveAlert:
        f = self.finding
        return ActiveAlert(self.alert_id, f.key, f.scope, f.severity, f.service, f.env, f.reason, f.details,
                           f.stale_since, self.at)


@dataclass(frozen=True)
class Clear:
    alert: ActiveAlert
    at: float
    reason: str


@dataclass
class HealthWrites:
    """Health alerts one tick raises and clears, applied in the tick's transaction (raises
    first: an alert may be raised and cleared in one tick, as sentinel_stale is)."""

    raises: list[Raise] = field(default_factory=list)
    clears: list[Clear] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.raises or self.clears)
