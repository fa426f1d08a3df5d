"""Readiness: database reachable, migrations applied, engine ticked recently."""

from __future__ import annotations

from typing import Any

from server.config import Settings
from server.store import lease, migrate
from server.timefmt import iso

STALE_TICKS = 3


def readiness(settings: Settings, now: float) -> dict[str, Any]:
    """Each check with ok and why; `ready` only when all pass."""
    checks: dict[str, dict[str, Any]] = {}
    try:
        statuses = migrate.status()
        missing = [s.version for s in statuses if s.applied_at is None]
        checks["database"] = {"ok": True}
        checks["migrations"] = {"ok": not missing,
                                "reason": f"not applied: {missing}" if missing else None}
        state = lease.state()
    except Exception as exc:  # the database is the thing being checked
        checks["database"] = {"ok": False, "reason": f"{type(exc).__name__}: {exc}"}
        return {"ready": False, "checks": checks}
    limit = STALE_TICKS * settings.tick_seconds
    if state.last_tick_at is None:
        checks["engine"] = {"ok": False, "reason": "the engine has not ticked yet"}
    else:
        age = now - state.last_tick_at
        checks["engine"] = {
            "ok": age <= limit, "last_tick_at": iso(state.last_tick_at), "age_seconds": round(age, 3),
            "leader": state.holder,
            "reason": None if age <= limit else f"no tick for {age:.1f}s (more than {STALE_TICKS} intervals)",
        }
    return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}
