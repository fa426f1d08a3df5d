"""The notification tick hook: the tick's state changes -> notices -> routed outbox rows,
added to the tick's writes so that they commit with the changes (or not at all).

Composes the pure stages (events, routing, outbox); reads only the live channels and the
incidents' facts as they were before the tick.
"""

from __future__ import annotations

from server.notify.events import (
    CauseMove,
    HealthMove,
    IncidentFacts,
    StateMove,
    health_notices,
    incident_notices,
)
from server.notify.outbox import outbox_rows
from server.store import catalog, notifications
from server.store import channels as channel_store
from server.store.incidents import TickWrites


def health_moves(writes: TickWrites) -> list[HealthMove]:
    moves = []
    for r in writes.health.raises:
        f = r.finding
        moves.append(HealthMove(r.alert_id, "raised", f.key, f.scope, f.severity, f.service, f.env, f.reason, r.at))
    for c in writes.health.clears:
        a = c.alert
        moves.append(HealthMove(a.id, "cleared", a.key, a.scope, a.severity, a.service, a.env, c.reason, c.at))
    return moves


def enqueue_notifications(writes: TickWrites, now: float) -> None:
    """Add the outbox rows for every state change in `writes` (call once, last, per tick)."""
    channels = channel_store.live_channels()
    if not channels or not writes:
        return
    stored = notifications.incident_facts([c.incident_id for c in writes.changes] + [a[0] for a in writes.analyses])
    # A severity derived in this very tick wins over the stored one (a new incident has no other).
    derived = {incident_id: level for incident_id, level, _, _ in writes.severities}
    # The owning team from the service catalog routes too (rules with `team`).
    teams = catalog.teams_of([row[0] for row in stored.values()] + [n.primary.service for n in writes.new])
    facts = {i: IncidentFacts(i, *row[:5], severity=derived.get(i, row[6]), kind=row[5], team=teams.get(row[0]))
             for i, row in stored.items()}
    opened = [IncidentFacts(n.id, *n.primary, n.cause, severity=derived.get(n.id), kind=n.kind,
                            team=teams.get(n.primary.service)) for n in writes.new]
    moves = [StateMove(c.incident_id, c.from_state, c.to_state, c.at) for c in writes.changes
             if c.incident_id in facts]
    causes = [CauseMove(i, facts[i].cause, cause, now) for i, cause, _, _ in writes.analyses
              if i in facts and facts[i].cause != cause]
    notices = incident_notices(opened, {n.id: n.opened_at for n in writes.new}, moves, causes, facts)
    notices += health_notices(health_moves(writes))
    writes.notifications += outbox_rows(notices, channels)
