"""Cause classification: deterministic rules over the origin and the changes around the onset.

Order of strength: runtime, deploy, dependency, app, unknown. A change after the onset
cannot have caused it. When a deploy and a dependency both precede the onset the one
nearer to it wins; a tie keeps dependency (an outside failure explains a deploy that
merely coincides, rarely the other way round). The loser is kept as `runner_up`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from server.engine.model import Cause, Change, Family, Origin, Reason


@dataclass(frozen=True)
class ClassifySettings:
    change_lookback: float = 1800.0
    runtime_lookback: float = 300.0
    # A deploy this close to the onset, of the origin service itself, is high confidence.
    close_deploy: float = 600.0


def _ago(change_ts: float, onset: float) -> str:
    seconds = max(0.0, onset - change_ts)
    if seconds < 120:
        return f"{seconds:.0f}s before the onset"
    return f"{seconds / 60:.0f}m before the onset"


def _version(change: Change) -> str:
    version = change.attributes.get("version")
    return f" {version}" if version else ""


def classify(origin: Origin, changes: Iterable[Change], onset: float, family: Family,
             settings: ClassifySettings = ClassifySettings()) -> Cause:
    """The likely cause of a failure that started at `onset`.

    `origin` is where the failure starts in its traces (status `missing` when there are
    none; then `family` stands in for it); `changes` are signals of the services involved.
    """
    origin_service = origin.service if origin.status != "missing" else family.service
    path_services = {p.service for p in origin.path} | {origin_service}
    family_ev = family.evidence_id
    trace_ev = tuple(f"trace:{t}" for t in origin.sample_traces[:3])
    before = sorted((c for c in changes if c.ts <= onset), key=lambda c: (-c.ts, c.evidence_id))

    runtime = [c for c in before if c.type == "runtime" and c.service == origin_service
               and onset - c.ts <= settings.runtime_lookback]
    if runtime:
        crash = runtime[0]
        what = crash.reason or crash.attributes.get("exception_type") or "a crash"
        return Cause("runtime", "high", (
            Reason(f"{origin_service} reported {what} {_ago(crash.ts, onset)}", (crash.evidence_id,)),
            Reason(f"the failure starts in {origin_service}", trace_ev or (family_ev,)),
        ), suspect=crash)

    window = [c for c in before if onset - c.ts <= settings.change_lookback]
    deploys = [c for c in window if c.type == "deploy" and c.service in path_services]
    deploy = next((d for d in deploys if d.service == origin_service), deploys[0] if deploys else None)
    dependency_signal = next(
        (c for c in window if c.type == "dependency"
         and (c.service == origin_service
              or (origin.via and origin.via in (c.service, c.attributes.get("dependency"))))),
        None,
    )

    # The dependency's time: a signal's own time, else the first failing call (the onset itself).
    dependency_ts: float | None = None
    dependency_reasons: list[Reason] = []
    if origin.via:
        dependency_ts = origin.first_failure_ts if origin.first_failure_ts is not None else onset
        dependency_reasons.append(Reason(
            f"the first failure is {origin_service}'s call to {origin.via}"
            f" ({origin.traces_agreeing} of {origin.traces_seen} failing traces)",
            trace_ev or (family_ev,)))
    if dependency_signal is not None:
        if dependency_ts is None:
            dependency_ts = dependency_signal.ts
        dependency_reasons.append(Reason(
            f"dependency trouble reported for {dependency_signal.attributes.get('dependency') or dependency_signal.service}"
            f" {_ago(dependency_signal.ts, onset)}: {dependency_signal.reason or dependency_signal.message or 'no reason given'}",
            (dependency_signal.evidence_id,)))

    if deploy is not None and (dependency_ts is None or onset - deploy.ts < onset - dependency_ts):
        close = deploy.service == origin_service and onset - deploy.ts <= settings.close_deploy
        reasons = [Reason(f"{deploy.service}{_version(deploy)} was deployed {_ago(deploy.ts, onset)}",
                          (deploy.evidence_id,))]
        if deploy.service == origin_service:
            reasons.append(Reason(f"the failure starts in the deployed service {origin_service}",
                                  trace_ev or (family_ev,)))
        else:
            reasons.append(Reason(f"{deploy.service} is on the failing path to {origin_service}",
                                  trace_ev or (family_ev,)))
        runner = dependency_signal
        return Cause("deploy", "high" if close else "medium", tuple(reasons), suspect=deploy, runner_up=runner)

    if dependency_reasons:
        agreeing = origin.traces_seen and origin.traces_agreeing / origin.traces_seen >= 0.8
        confidence = "high" if (origin.via and agreeing) or (origin.via and dependency_signal) else "medium"
        return Cause("dependency", confidence, tuple(dependency_reasons), suspect=dependency_signal,
                     runner_up=deploy)

    if origin.status == "missing":
        return Cause("unknown", "low", (
            Reason(f"{family.label} spiked but no failing event carries a trace id and no change"
                   " preceded the onset", (family_ev,)),))

    share = origin.traces_agreeing / origin.traces_seen
    confidence = "medium" if share >= 0.8 and origin.traces_seen >= 3 else "low"
    code = f" with {origin.error_code}" if origin.error_code else ""
    return Cause("app", confidence, (
        Reason(f"the failure starts inside {origin.service} {origin.step}{code}"
               f" ({origin.traces_agreeing} of {origin.traces_seen} failing traces), not in a call it made",
               trace_ev or (family_ev,)),
        Reason("no deploy, dependency trouble or crash of the services involved preceded the onset",
               (family_ev,)),
    ))
