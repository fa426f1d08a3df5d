"""Stored snapshots read back: which phase a reader uses, and placeholders for kinds an
incident predates (it was stored before Onset captured that kind): those read as
`missing` with the reason, so old incidents still load and render."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.evidence.snapshot import KINDS, LATEST, OPENING, missing

PREDATES = "not captured: this incident was stored before Onset captured {kind} evidence"


@dataclass(frozen=True)
class StoredSnapshot:
    kind: str
    phase: str | None  # None: nothing stored
    captured_at: float | None
    content: dict[str, Any]


def stored_snapshot(snapshots: Mapping[tuple[str, str], dict[str, Any]], kind: str,
                    prefer: tuple[str, ...] = (LATEST, OPENING)) -> StoredSnapshot:
    """The first stored phase of `kind` in `prefer` order; `snapshots` maps (kind, phase) to
    the stored snapshot with its `captured_at`, as `store.incidents.get_incident` returns it."""
    for phase in prefer:
        stored = snapshots.get((kind, phase))
        if stored is not None:
            content = {k: v for k, v in stored.items() if k != "captured_at"}
            return StoredSnapshot(kind, phase, stored.get("captured_at"), content)
    return StoredSnapshot(kind, None, None, missing(PREDATES.format(kind=kind)))


def current_snapshots(snapshots: Mapping[tuple[str, str], dict[str, Any]]) -> dict[str, StoredSnapshot]:
    """Every kind, latest phase first."""
    return {kind: stored_snapshot(snapshots, kind) for kind in KINDS}
