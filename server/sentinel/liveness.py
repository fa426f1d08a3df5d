"""The engine's own liveness, judged by the next engine to tick. Pure.

While no engine ticks nothing else in the sentinel runs, so the alert cannot be raised at
the time: `/readyz` fails then (and the dashboard shows it). The engine that next holds
the lease sees the gap and records it, raised when the third interval passed without a
tick and cleared now, so the history (and the notifications) say data went unwatched.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.sentinel.model import Clear, Finding, HealthWrites, Raise, health_alert_id
from server.timefmt import duration, iso

STALE, STALE_TICKS, ENGINE_SCOPE = "sentinel_stale", 3, "engine"


@dataclass(frozen=True)
class Gap:
    last_tick_at: float
    resumed_at: float
    holder: str

    @property
    def seconds(self) -> float:
        return self.resumed_at - self.last_tick_at


def gap_of(last_tick_at: float | None, now: float, tick_seconds: float, holder: str) -> Gap | None:
    """A gap when no tick completed for more than STALE_TICKS intervals before `now`."""
    if last_tick_at is None or now - last_tick_at <= STALE_TICKS * tick_seconds:
        return None
    return Gap(last_tick_at, now, holder)


def stale_writes(gap: Gap, tick_seconds: float) -> HealthWrites:
    """sentinel_stale raised when the engine went stale and cleared when it resumed."""
    raised_at = gap.last_tick_at + STALE_TICKS * tick_seconds
    finding = Finding(
        STALE, ENGINE_SCOPE,
        f"no engine ticked for {duration(gap.seconds)} (last tick {iso(gap.last_tick_at)}, resumed"
        f" {iso(gap.resumed_at)}): services, heartbeats and incidents went unwatched",
        stale_since=gap.last_tick_at,
        details={"gap_seconds": round(gap.seconds, 3), "last_tick_at": gap.last_tick_at,
                 "resumed_at": gap.resumed_at, "resumed_by": gap.holder})
    raised = Raise(health_alert_id(STALE, ENGINE_SCOPE, raised_at), finding, raised_at)
    return HealthWrites([raised], [Clear(raised.as_active(), gap.resumed_at, f"engine {gap.holder} resumed ticking")])
