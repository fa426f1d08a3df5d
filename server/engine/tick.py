"""One engine tick: read counters, detect, group, classify, move incidents, write once.

This is the only engine module that touches the store; the decisions themselves are the
pure functions it composes. `now` is passed in, so ticks can be replayed and tested with
a fake clock.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from server.config import Settings
from server.engine.classify import ClassifySettings, classify
from server.engine.correlate import incident_facts, match_alerts
from server.engine.detect import DetectSettings, Verdict, baseline_of, detect, judge
from server.engine.grouping import group_families
from server.engine.lifecycle import next_state
from server.engine.model import Cause, Family, NextCheck, Origin, WindowCounts
from server.engine.nextchecks import next_checks
from server.engine.origin import find_origin
from server.evidence.capture import evidence_rows
from server.evidence.subject import Subject
from server.incidentlog.hook import IncidentLog
from server.notify.hook import enqueue_notifications
from server.sentinel.hook import Sentinel
from server.store import alerts, counters, events, incidents, signals
from server.store.events import bucket_of
from server.store.incidents import NewIncident, OpenIncident, StateChange, TickWrites

log = logging.getLogger("onset.engine")

TRACES_PER_FAMILY = 50


@dataclass(frozen=True)
class Windows:
    """The current window and the three before it, on the bucket grid: edges[i]..edges[i+1]."""

    edges: tuple[float, float, float, float, float]
    bucket: float

    @property
    def current(self) -> tuple[float, float]:
        return self.edges[3], self.edges[4]

    @classmethod
    def at(cls, now: float, window: float, bucket: float) -> Windows:
        per_window = max(1, round(window / bucket))
        hi = bucket_of(now, bucket) + bucket
        span = per_window * bucket
        return cls(tuple(hi - span * k for k in (4, 3, 2, 1, 0)), bucket)  # type: ignore[arg-type]


def incident_id(family: Family, onset: float, attempt: int = 0) -> str:
    """`inc_YYYYMMDD_HHMM_<6 hex>` from the family and the onset minute: a rebuild that finds the
    same spike gets the same id. `attempt` separates a new spike in the same minute."""
    minute = int(onset // 60)
    seed = f"{family.service}|{family.env}|{family.step}|{family.error_code}|{minute}"
    if attempt:
        seed += f"|{attempt}"
    stamp = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y%m%d_%H%M")
    return f"inc_{stamp}_{hashlib.sha256(seed.encode()).hexdigest()[:6]}"


@dataclass(frozen=True)
class TickResult:
    opened: tuple[str, ...]
    transitions: tuple[StateChange, ...]
    committed: bool
    duration_ms: float


class Engine:
    """Ticks for one lease holder. Not thread-safe: one engine, one thread."""

    def __init__(self, settings: Settings, holder: str):
        self.settings = settings
        self.holder = holder
        self.detect_settings = DetectSettings(settings.min_count, settings.lift, settings.min_error_rate)
        self.classify_settings = ClassifySettings(settings.change_lookback_seconds,
                                                  settings.runtime_lookback_seconds)
        self.sentinel = Sentinel(settings, self.analyse, self._refresh, incident_id)
        self.incident_log = IncidentLog(settings, self._refresh)

    # -- reading ---------------------------------------------------------------------------
    def _counts(self, family: Family, windows: Windows) -> WindowCounts:
        per_window = counters.family_errors_by_window(family, windows.edges)
        lo, hi = windows.current
        requests = counters.step_requests(family.service, family.env, family.step, lo, hi)
        return WindowCounts(per_window[3], (per_window[0], per_window[1], per_window[2]), requests)

    def _onset(self, family: Family, counts: WindowCounts, windows: Windows) -> float:
        """The first error in the first bucket of the window that rose above the baseline's share."""
        lo, hi = windows.current
        per_bucket = baseline_of(counts.priors) / max(1, round((hi - lo) / windows.bucket))
        for bucket, n in counters.family_errors_by_bucket(family, lo, hi):
            if n > per_bucket:
                first = events.first_error_ts(family, bucket, bucket + windows.bucket)
                return first if first is not None else bucket
        first = events.first_error_ts(family, lo, hi)
        return first if first is not None else lo

    # -- analysis --------------------------------------------------------------------------
    def analyse(self, primary: Family, families: list[Family], onset: float, now: float) -> tuple[Cause, dict]:
        """Origin, cause and next checks from the traces of the incident's first window."""
        window = self.settings.window_seconds
        traces: list[str] = []
        for family in families:
            traces.extend(events.failing_trace_ids(family, onset - self.settings.tick_seconds,
                                                    onset + window, TRACES_PER_FAMILY))
        origin = find_origin(events.failing_spans(traces))
        services = {f.service for f in families} | {p.service for p in origin.path}
        if origin.service:
            services.add(origin.service)
        if origin.via:
            services.add(origin.via)  # a dependency signal may be filed under the dependency itself
        changes = signals.changes_near(services, primary.env, onset - self.settings.change_lookback_seconds,
                                       now + 1)
        cause = classify(origin, changes, onset, primary, self.classify_settings)
        checks = next_checks(cause, origin, primary)
        return cause, analysis_doc(origin, cause, checks)

    # -- the tick --------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> TickResult:
        started = time.perf_counter()
        now = time.time() if now is None else now
        windows = Windows.at(now, self.settings.window_seconds, self.settings.bucket_seconds)
        lo, hi = windows.current
        open_now = incidents.open_incidents()
        self.attach_alerts(open_now, now)
        owned = {f: inc for inc in open_now for f in inc.families}

        candidates = counters.families_with_errors(lo, hi, self.settings.min_count)
        counts = {f: self._counts(f, windows) for f in sorted(set(candidates) | set(owned))}
        fresh = detect({f: c for f, c in counts.items() if f not in owned}, self.detect_settings)
        still: dict[Family, Verdict] = {
            f: judge(counts[f].errors, inc.families[f], counts[f].requests, self.detect_settings)
            for f, inc in owned.items()
        }

        writes = TickWrites()
        spiking_new = sorted(f for f, v in fresh.items() if v.spiking)
        new_traces = {f: frozenset(events.failing_trace_ids(f, lo, hi, TRACES_PER_FAMILY)) for f in spiking_new}
        open_traces = {
            inc.id: frozenset(t for f in inc.families for t in events.failing_trace_ids(f, lo, hi, TRACES_PER_FAMILY))
            for inc in open_now
        }
        joins, groups = group_families(new_traces, open_traces)
        by_id = {inc.id: inc for inc in open_now}
        for family, inc_id in sorted(joins.items()):
            baseline = fresh[family].baseline
            writes.joins.append((inc_id, family, baseline, now))
            by_id[inc_id].families[family] = baseline
            still[family] = fresh[family]

        opened = []
        for group in groups:
            onsets = {f: self._onset(f, counts[f], windows) for f in group}
            onset = min(onsets.values())
            primary = min(group, key=lambda f: (onsets[f], f))
            cause, doc = self.analyse(primary, sorted(group), onset, now)
            origin_family = primary_family(group, doc["origin"], primary)
            if origin_family != primary:
                # The incident is named after the family where the failure starts, not the entry
                # point that noticed it first (requests start at the edge before the fault).
                primary = origin_family
                cause, doc = self.analyse(primary, sorted(group), onset, now)
            attempt = 0
            while incidents.id_taken(new_id := incident_id(primary, onset, attempt)):
                attempt += 1
            doc["detection"] = detection_doc(group, fresh, counts)
            writes.new.append(NewIncident(new_id, primary, onset, now,
                                          {f: fresh[f].baseline for f in group}, cause.kind, cause.confidence, doc))
            writes.snapshots += evidence_rows(Subject(new_id, primary, tuple(sorted(group)), onset, doc), now,
                                              self.settings, opening=True)
            opened.append(new_id)

        for inc in open_now:
            spiking = any(still[f].spiking for f in inc.families)
            transition = next_state(inc.state, spiking, inc.recovering_since, now,
                                    self.settings.resolve_after_seconds, inc.manual)
            if transition is not None:
                writes.changes.append(StateChange(inc.id, inc.state, transition.to_state, transition.reason, now))
            if transition is None or transition.to_state != "resolved":
                self._refresh(inc, now, writes)

        self.sentinel.run(now, writes)  # health alerts, and anomaly incidents on the same lifecycle
        self.incident_log.run(now, writes)  # declared incidents, severity, follows, Onset's timeline entries
        enqueue_notifications(writes, now)  # last: the outbox rows of every change above, same transaction

        duration_ms = (time.perf_counter() - started) * 1000
        committed = incidents.apply_tick(writes, self.holder, now, self.settings.lease_seconds, duration_ms)
        if committed:
            self.sentinel.committed()
        if not committed:
            log.warning("engine %s lost the lease; tick at %.3f discarded", self.holder, now)
        return TickResult(tuple(opened) if committed else (), tuple(writes.changes) if committed else (),
                          committed, duration_ms)

    def attach_alerts(self, open_now: list[OpenIncident], now: float) -> None:
        """Attach alerts that match an open incident (engine.correlate), in their own write
        before this tick captures evidence, so its alert snapshot lists them. An incident opened
        in this tick gets its alerts in the next one."""
        facts = [incident_facts(i.id, i.families, i.onset, i.analysis) for i in open_now]
        if not facts:
            return
        window = self.settings.alert_match_window
        candidates = alerts.alert_facts_since(min(f.onset for f in facts) - window, now)
        traced = events.failing_families_of_traces(a.trace_id for a in candidates if a.trace_id)
        known = alerts.attached_pairs(f.incident_id for f in facts)
        alerts.attach_alerts([link for link in match_alerts(facts, candidates, traced, window, now)
                              if (link.incident_id, link.alert_id) not in known], now)

    def _refresh(self, inc: OpenIncident, now: float, writes: TickWrites) -> None:
        """Re-analyse an open incident: late signals (a deploy reported after the fact, with a
        time before the onset) can change its cause."""
        cause, doc = self.analyse(inc.primary, sorted(inc.families), inc.onset, now)
        at_origin = primary_family(sorted(inc.families), doc["origin"], inc.primary)
        if at_origin != inc.primary:
            # The origin's family joined after opening (its errors crossed the threshold a tick
            # later than the edge's): the incident is named after where the failure starts.
            writes.primaries.append((inc.id, at_origin))
            inc.primary = at_origin
            cause, doc = self.analyse(inc.primary, sorted(inc.families), inc.onset, now)
        doc["detection"] = inc.analysis.get("detection", {})
        if doc != inc.analysis or cause.kind != inc.cause or cause.confidence != inc.confidence:
            writes.analyses.append((inc.id, cause.kind, cause.confidence, doc))
        writes.snapshots += evidence_rows(Subject(inc.id, inc.primary, tuple(sorted(inc.families)), inc.onset, doc),
                                          now, self.settings, opening=False)


def primary_family(group: list[Family], origin: dict[str, Any], default: Family) -> Family:
    """The group's family at the origin (service and step), else `default`."""
    at_origin = sorted(f for f in group if f.service == origin.get("service") and f.step == origin.get("step"))
    return at_origin[0] if at_origin else default


def detection_doc(group: list[Family], verdicts: dict[Family, Verdict],
                  counts: dict[Family, WindowCounts]) -> dict[str, Any]:
    return {
        f.label: {"errors": verdicts[f].errors, "baseline": verdicts[f].baseline,
                  "priors": list(counts[f].priors), "requests": counts[f].requests,
                  "error_rate": verdicts[f].error_rate}
        for f in sorted(group)
    }


def analysis_doc(origin: Origin, cause: Cause, checks: list[NextCheck]) -> dict[str, Any]:
    """The stored analysis: plain JSON, stable key order and content for the same inputs."""
    return {
        "origin": {
            "service": origin.service or None, "step": origin.step or None, "via": origin.via,
            "error_code": origin.error_code, "status": origin.status, "status_reason": origin.status_reason,
            "traces_seen": origin.traces_seen, "traces_agreeing": origin.traces_agreeing,
            "path": [{"service": p.service, "step": p.step, "kind": p.kind, "peer": p.peer,
                      "error_code": p.error_code} for p in origin.path],
            "first_failure_ts": origin.first_failure_ts,
        },
        "cause": {
            "kind": cause.kind, "confidence": cause.confidence,
            "reasons": [{"text": r.text, "evidence": list(r.evidence)} for r in cause.reasons],
            "suspect": cause.suspect.evidence_id if cause.suspect else None,
            "runner_up": cause.runner_up.evidence_id if cause.runner_up else None,
        },
        "next_checks": [{"text": c.text, "evidence": list(c.evidence)} for c in checks],
        "sample_traces": list(origin.sample_traces),
    }

