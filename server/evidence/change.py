"""Change evidence ("What changed?"): deploys, dependency trouble, crashes and config changes
of the services involved, each with its time relative to the onset.

Deploys come from signals: sent by CI, or registered by ingest when a new version appears
in a service's traffic (source `onset.auto`). The deploy the engine suspects (and a deploy
runner-up) carries the service's error rate in the window before and after it; those rates
keep moving while traffic arrives and are volatile (kept out of `report_hash`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.config import Settings
from server.evidence.snapshot import OK, PARTIAL, rate, snapshot
from server.evidence.subject import Subject
from server.store import counters, signals
from server.store.events import bucket_of
from server.store.signals import SignalRecord

CHANGE_TYPES = ("deploy", "dependency", "runtime", "config")
MAX_CHANGES = 50
QUERY_LIMIT = 500
DETAIL_KEYS = ("version", "previous_version", "commit", "pr_url", "author", "auto", "dependency",
               "exception_type", "exit_code", "signal", "restarts")
MAX_TEXT = 300


def _text(value: str | None) -> str | None:
    return value[:MAX_TEXT] if value else value


def details_of(attributes: dict[str, Any]) -> dict[str, Any]:
    """The attributes a reader needs (what CI sent with a deploy, what crashed), bounded."""
    found: dict[str, Any] = {}
    for key in DETAIL_KEYS:
        value = attributes.get(key)
        if isinstance(value, str):
            found[key] = value[:MAX_TEXT]
        elif isinstance(value, bool | int | float):
            found[key] = value
    return found


def change_snapshot(records: Sequence[SignalRecord], onset: float, suspect: str | None, runner_up: str | None,
                    rates: dict[str, dict[str, Any]], lookback: float, services: Sequence[str],
                    truncated: bool) -> dict[str, Any]:
    """The snapshot from the signals found. Over MAX_CHANGES, the ones the cause cites and
    then the ones nearest the onset are kept."""
    roles = {suspect: "suspect", runner_up: "runner_up"}
    unique = {r.signal_id: r for r in records}
    ranked = sorted(unique.values(), key=lambda r: (r.signal_id not in roles, abs(r.ts - onset), r.ts, r.signal_id))
    kept = sorted(ranked[:MAX_CHANGES], key=lambda r: (r.ts, r.signal_id))
    items = []
    for r in kept:
        item = {
            "id": r.signal_id, "type": r.type, "service": r.service, "env": r.env, "source": r.source,
            "ts": r.ts, "offset_seconds": round(r.ts - onset, 3), "relation": "before" if r.ts <= onset else "after",
            "reason": _text(r.reason), "message": _text(r.message), "role": roles.get(r.signal_id),
            "details": details_of(r.attributes),
        }
        if r.signal_id in rates:
            item["error_rates"] = rates[r.signal_id]
        items.append(item)
    return snapshot(
        PARTIAL if truncated else OK,
        f"more than {QUERY_LIMIT} changes in the lookback: later ones were not read" if truncated else None,
        lookback_seconds=lookback, services=sorted(services), items=items,
        items_left_out=max(0, len(unique) - MAX_CHANGES),
    )


def deploy_error_rates(record: SignalRecord, window_seconds: float, bucket: float) -> dict[str, Any]:
    """The deployed service's request error rate in the window before the deploy and the
    window from its bucket on."""
    window = max(1, round(window_seconds / bucket)) * bucket
    start = bucket_of(record.ts, bucket)
    before = counters.service_requests(record.service, record.env, start - window, start)
    after = counters.service_requests(record.service, record.env, start, start + window)
    return {"window_seconds": window,
            "before": {"failed": before[0], "total": before[1], "error_rate": rate(*before)},
            "after": {"failed": after[0], "total": after[1], "error_rate": rate(*after)}}


def capture_change(subject: Subject, now: float, settings: Settings) -> dict[str, Any]:
    services = set(subject.services)
    if subject.origin.get("via"):
        services.add(subject.origin["via"])  # a dependency signal may be filed under the dependency
    lookback = settings.change_lookback_seconds
    records = signals.signals_about(services, subject.primary.env, subject.onset - lookback, now + 1, CHANGE_TYPES,
                                    QUERY_LIMIT)
    suspect, runner_up = subject.cause.get("suspect"), subject.cause.get("runner_up")
    cited = {s for s in (suspect, runner_up) if s}
    records += signals.signals_by_id(cited - {r.signal_id for r in records})
    rates = {r.signal_id: deploy_error_rates(r, settings.window_seconds, settings.bucket_seconds)
             for r in records if r.signal_id in cited and r.type == "deploy"}
    return change_snapshot(records, subject.onset, suspect, runner_up, rates, lookback, sorted(services),
                           len(records) >= QUERY_LIMIT)
