"""The release gate: may a service ship now? Pure.

A service is held while it has an open (active or recovering) incident of severity P1 or P2,
or an overdue follow-up. Each reason is named, so that a pipeline's log says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.engine.model import OPEN_STATES

BLOCKING_SEVERITIES = ("P1", "P2")


@dataclass(frozen=True)
class GateVerdict:
    service: str
    blocked: bool
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "blocked": self.blocked, "reasons": list(self.reasons)}


def gate(service: str, incidents: Sequence[Mapping[str, Any]], overdue: Sequence[Mapping[str, Any]],
         due_text=lambda ts: f"{ts}") -> GateVerdict:
    """`incidents`: the service's incidents (any state, with `severity`); `overdue`: its
    overdue follow-ups. `due_text` shows a due time."""
    reasons = []
    for inc in sorted(incidents, key=lambda i: (i.get("severity") or "P9", i["id"])):
        if inc["state"] in OPEN_STATES and inc.get("severity") in BLOCKING_SEVERITIES:
            reasons.append(f"{inc['id']} is {inc['state']} with severity {inc['severity']}"
                           f" ({inc.get('title') or inc['service'] + ' ' + inc['step'] + ' ' + inc['error_code']})")
    for f in sorted(overdue, key=lambda f: (f["due_at"], f["id"])):
        owner = f", owner {f['owner']}" if f.get("owner") else ""
        due = f.get("due_date") or due_text(f["due_at"])
        reasons.append(f"follow-up {f['id']} of {f['incident_id']} is overdue (was due {due}): {f['title']}{owner}")
    return GateVerdict(service, bool(reasons), tuple(reasons))
