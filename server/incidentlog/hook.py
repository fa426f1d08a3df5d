"""The incident log's tick hook: declared incidents on their lifecycle, severity derived from
the blast evidence the tick captured, a returning failure linked to the incident a person
resolved by hand, and Onset's own timeline entries — all added to the tick's writes, so they
commit with the tick or not at all.

Composes the pure stages (`engine.lifecycle`, `engine.severity`, `incidentlog.recorder`);
reads the store only as it was before the tick. The engine owns this object and calls it
from its one thread, after its own decisions and the sentinel's, before notifications.
"""

from __future__ import annotations

from collections.abc import Callable

from server.config import Settings
from server.engine.lifecycle import follows, next_state
from server.engine.severity import derive_severity, next_severity
from server.evidence.snapshot import LATEST
from server.incidentlog import recorder
from server.store import incidents
from server.store.incidents import OpenIncident, StateChange, TickWrites

DECLARED = "declared"
Refresh = Callable[[OpenIncident, float, TickWrites], None]


class IncidentLog:
    def __init__(self, settings: Settings, refresh: Refresh):
        self.settings = settings
        self.refresh = refresh  # the engine's own: declared incidents get evidence as any other

    def run(self, now: float, writes: TickWrites) -> None:
        self._declared(now, writes)
        self._follows(now, writes)
        self._severities(now, writes)
        self._causes(now, writes)
        self._evidence(now, writes)

    def _declared(self, now: float, writes: TickWrites) -> None:
        """Declared incidents are held active by their declaration; only a person resolves them."""
        for inc in incidents.open_incidents((DECLARED,)):
            transition = next_state(inc.state, True, inc.recovering_since, now, self.settings.resolve_after_seconds,
                                    inc.manual)
            if transition is not None:
                writes.changes.append(StateChange(inc.id, inc.state, transition.to_state, transition.reason, now))
            if transition is None or transition.to_state != "resolved":
                self.refresh(inc, now, writes)

    def _follows(self, now: float, writes: TickWrites) -> None:
        opening = {n.id for n in writes.new}
        for new in writes.new:
            previous = follows(new.families, incidents.latest_of_families(list(new.families), opening))
            if previous is not None:
                writes.follows.append((new.id, previous.id))
                writes.timeline += recorder.follows_entries(new.id, previous, now)

    def _severities(self, now: float, writes: TickWrites) -> None:
        blasts = {incident_id: snap for incident_id, kind, phase, _, snap in writes.snapshots
                  if kind == "blast" and phase == LATEST}
        stored = incidents.severities_of(list(blasts))
        for incident_id, blast in sorted(blasts.items()):
            current, source = stored.get(incident_id, (None, None))
            verdict = next_severity(current, source, derive_severity(blast, self.settings.severity_rules))
            if verdict is not None:
                writes.severities.append((incident_id, verdict.level, verdict.reason, now))
                writes.timeline.append(recorder.severity_entry(incident_id, current, verdict, now))

    def _causes(self, now: float, writes: TickWrites) -> None:
        stored = incidents.causes_of([a[0] for a in writes.analyses])
        for incident_id, cause, confidence, _ in writes.analyses:
            before = stored.get(incident_id)
            if before is not None and before[0] != cause:
                writes.timeline.append(recorder.cause_entry(incident_id, before, (cause, confidence), now))

    def _evidence(self, now: float, writes: TickWrites) -> None:
        opening = {n.id for n in writes.new}
        for incident_id, kind, phase, _, snap in writes.snapshots:
            if kind != "change" or phase != LATEST or incident_id in opening:
                continue
            before = incidents.evidence_snapshots(incident_id, LATEST).get("change")
            writes.timeline += recorder.evidence_entries(incident_id, before[1] if before else None, snap, now)
