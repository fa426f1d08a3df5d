"""The sentinel's tick hook: read the store, run the pure checks, add what they decide to
the engine's tick writes (health alerts raised and cleared; anomaly incidents opened and
moved along their lifecycle). Nothing here commits: `incidents.apply_tick` writes it all
in the tick's one transaction, fenced by the lease.

The engine owns this object and calls it from its one thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from server.config import Settings
from server.engine.lifecycle import next_state
from server.engine.model import Cause, Family
from server.evidence.capture import evidence_rows
from server.evidence.subject import Subject
from server.sentinel import latency, traffic
from server.sentinel.freshness import FreshnessSettings, ServiceTraffic, check_freshness
from server.sentinel.heartbeats import check_heartbeats
from server.sentinel.latency import LatencySettings, WindowGrid
from server.sentinel.liveness import Gap, gap_of, stale_writes
from server.sentinel.model import HealthWrites
from server.sentinel.reconcile import reconcile
from server.sentinel.traffic import TrafficSettings
from server.store import db as store
from server.store import durations, health_alerts, heartbeats, incidents
from server.store.events import bucket_of
from server.store.incidents import NewIncident, OpenIncident, StateChange, TickWrites

log = logging.getLogger("onset.sentinel")

LATENCY, TRAFFIC = "latency", "traffic"
ANOMALY_KINDS = (LATENCY, TRAFFIC)

Analyse = Callable[[Family, list[Family], float, float], tuple[Cause, dict]]
Refresh = Callable[[OpenIncident, float, TickWrites], None]
NewId = Callable[[Family, float, int], str]

Counts = dict[tuple[str, str], dict[float, int]]  # (service, env) -> bucket -> events


class Sentinel:
    """`analyse`, `refresh` and `incident_id` are the engine's own, so that anomaly incidents
    get their cause, evidence and ids exactly as error incidents do."""

    def __init__(self, settings: Settings, analyse: Analyse, refresh: Refresh, incident_id: NewId):
        self.settings = settings
        self.analyse = analyse
        self.refresh = refresh
        self.incident_id = incident_id
        self.pending_gap: Gap | None = None
        self.freshness = FreshnessSettings(settings.sentinel_baseline_windows, settings.sentinel_min_events,
                                           settings.sentinel_silent_windows, settings.sentinel_collapse_fraction,
                                           settings.window_seconds)
        self.latency = LatencySettings(settings.latency_percentile, settings.latency_factor,
                                       settings.latency_min_requests, settings.latency_floor_ms,
                                       settings.sentinel_baseline_windows, settings.anomaly_persist_ticks)
        self.traffic = TrafficSettings(settings.traffic_surge_factor, settings.traffic_drop_fraction,
                                       settings.traffic_min_events, settings.sentinel_baseline_windows,
                                       settings.anomaly_persist_ticks)

    # -- engine liveness ----------------------------------------------------------------------
    def engine_resumed(self, last_tick_at: float | None, now: float, holder: str) -> None:
        """Called by the runner each time it holds the lease, before it ticks: a gap of more
        than three intervals since the last tick is kept until a tick commits it."""
        gap = gap_of(last_tick_at, now, self.settings.tick_seconds, holder)
        if gap is not None and self.pending_gap is None:
            log.warning("no engine ticked for %.1fs; raising sentinel_stale", gap.seconds)
            self.pending_gap = gap

    def committed(self) -> None:
        """The tick that carried the pending gap committed."""
        self.pending_gap = None

    # -- the tick -----------------------------------------------------------------------------
    def run(self, now: float, writes: TickWrites) -> None:
        if not self.settings.sentinel_enabled:
            return
        grid = WindowGrid(bucket_of(now, self.settings.bucket_seconds) + self.settings.bucket_seconds,
                          self.settings.bucket_seconds,
                          max(1, round(self.settings.window_seconds / self.settings.bucket_seconds)))
        all_kinds, requests = self._counts(grid)
        self._health(now, grid, all_kinds, writes)
        self._anomalies(now, grid, requests, writes)

    def _lookback(self, grid: WindowGrid) -> float:
        windows = self.settings.sentinel_baseline_windows + self.settings.sentinel_silent_windows
        return min(grid.window(0, windows - 1)[0], grid.lookback(self.settings.sentinel_baseline_windows,
                                                                  self.settings.anomaly_persist_ticks))

    def _counts(self, grid: WindowGrid) -> tuple[Counts, Counts]:
        """Events of any kind, and requests, per (service, env) and bucket over the lookback."""
        all_kinds: Counts = {}
        requests: Counts = {}
        for service, env, kind, bucket, n in store.fetchall(
            "SELECT service, env, kind, bucket, SUM(n) FROM event_counts WHERE bucket >= ? AND bucket < ?"
            " GROUP BY service, env, kind, bucket", (self._lookback(grid), grid.hi),
        ):
            per = all_kinds.setdefault((service, env), {})
            per[float(bucket)] = per.get(float(bucket), 0) + int(n)
            if kind == "request":
                requests.setdefault((service, env), {})[float(bucket)] = int(n)
        return all_kinds, requests

    # -- health alerts ------------------------------------------------------------------------
    def _health(self, now: float, grid: WindowGrid, counts: Counts, writes: TickWrites) -> None:
        active = health_alerts.active_alerts()
        rows = [self._service_traffic(service, env, per, grid) for (service, env), per in sorted(counts.items())]
        found = [check_freshness(rows, active, self.freshness, now)]
        lo, hi = grid.window(0, 0)
        sending = {service for (service, _), per in counts.items() if traffic.window_count(per, lo, hi) > 0}
        found.append(check_heartbeats(heartbeats.list_heartbeats(), sending, active, now))
        health = HealthWrites()
        if self.pending_gap is not None:
            stale = stale_writes(self.pending_gap, self.settings.tick_seconds)
            health.raises += stale.raises
            health.clears += stale.clears
        for result in found:
            decided = reconcile(result, active, now)
            health.raises += decided.raises
            health.clears += decided.clears
        writes.health.raises += health.raises
        writes.health.clears += health.clears

    def _service_traffic(self, service: str, env: str, per: dict[float, int], grid: WindowGrid) -> ServiceTraffic:
        windows = self.settings.sentinel_baseline_windows + self.settings.sentinel_silent_windows
        counts = tuple(traffic.window_count(per, *grid.window(0, w)) for w in range(windows - 1, -1, -1))
        recent = traffic.window_count(per, grid.hi - 2 * grid.bucket, grid.hi) * grid.per_window / 2
        busy = [bucket for bucket, n in per.items() if n > 0]
        return ServiceTraffic(service, env, counts, recent, max(busy) + grid.bucket if busy else None)

    # -- anomaly incidents --------------------------------------------------------------------
    def _anomalies(self, now: float, grid: WindowGrid, requests: Counts, writes: TickWrites) -> None:
        open_now = {inc.primary: inc for inc in incidents.open_incidents(ANOMALY_KINDS)}
        # A service already in an open error incident (or one opening this tick) is slow or
        # quiet because of that failure: one incident per root cause, not one per symptom.
        in_error_incident = {(f.service, f.env) for inc in incidents.open_incidents() for f in inc.families}
        in_error_incident |= {(f.service, f.env) for new in writes.new for f in new.families}
        for (service, env), per in sorted(requests.items()):
            verdict = traffic.judge_service(per, grid, self.traffic)
            if verdict.kind is None or (service, env) in in_error_incident:
                continue
            family = Family(service, env, "*", verdict.kind)
            if family not in open_now:
                self._open(family, TRAFFIC, verdict.baseline, verdict.persisted, grid, now,
                           traffic.measurement(service, verdict, self.traffic, self.settings.window_seconds), writes)
        code = f"latency_p{self.settings.latency_percentile}"
        steps = set(durations.busy_steps(*grid.window(0, 0), self.latency.min_requests))
        steps |= {(f.service, f.env, f.step) for f in open_now if f.error_code == code}
        histograms: dict[tuple[str, str, str], dict[float, dict[int, int]]] = {}
        lookback = grid.lookback(self.latency.baseline_windows, self.latency.persist_ticks)
        for step in sorted(steps):
            histograms[step] = durations.step_histograms(step, lookback, grid.hi)
            family = Family(step[0], step[1], step[2], code)
            if family in open_now or (step[0], step[1]) in in_error_incident:
                continue
            verdict = latency.judge_step(histograms[step], grid, self.latency)
            if verdict.spiking:
                self._open(family, LATENCY, verdict.baseline_ms or 0.0, verdict.persisted, grid, now,
                           latency.measurement(step[0], step[2], verdict, self.latency, self.settings.window_seconds),
                           writes)
        for family, inc in open_now.items():
            frozen = inc.families.get(family, 0.0)
            if inc.kind == LATENCY:
                hist = histograms.get((family.service, family.env, family.step), {})
                still = latency.still_spiking(hist, grid, frozen, self.latency).spiking
            else:
                still = traffic.still_anomalous(family.error_code, requests.get((family.service, family.env), {}),
                                                grid, frozen, self.traffic)
            self._move(inc, still, now, writes)

    def _open(self, family: Family, kind: str, baseline: float, persisted: int, grid: WindowGrid, now: float,
              measured: dict[str, Any], writes: TickWrites) -> None:
        # The anomaly became true with the newest bucket of the first window that showed it.
        onset = grid.window(max(persisted, 1) - 1, 0)[1] - grid.bucket
        attempt = 0
        taken = {n.id for n in writes.new}
        while (new_id := self.incident_id(family, onset, attempt)) in taken or incidents.id_taken(new_id):
            attempt += 1
        cause, doc = self.analyse(family, [family], onset, now)
        doc["detection"] = measured
        writes.new.append(NewIncident(new_id, family, onset, now, {family: baseline}, cause.kind, cause.confidence,
                                      doc, kind))
        writes.snapshots += evidence_rows(Subject(new_id, family, (family,), onset, doc), now, self.settings,
                                          opening=True)
        log.info("sentinel opened %s: %s", new_id, family.label)

    def _move(self, inc: OpenIncident, still: bool, now: float, writes: TickWrites) -> None:
        transition = next_state(inc.state, still, inc.recovering_since, now, self.settings.resolve_after_seconds,
                                inc.manual)  # a person's resolve or reopen wins
        if transition is not None:
            reason = transition.reason.replace("families", "the anomaly").replace("a family", "the anomaly")
            writes.changes.append(StateChange(inc.id, inc.state, transition.to_state, reason, now))
        if transition is None or transition.to_state != "resolved":
            self.refresh(inc, now, writes)
