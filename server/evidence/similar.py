"""Similar past incidents: the same family; the same origin and cause; similar error messages.
Each with a score and the reason; highest score first, then most recent.

Messages are compared after normalising: lower case, and the parts that differ between two
occurrences of one failure (numbers, hex and UUID ids, quoted values, addresses) masked.
Their similarity is the Jaccard index of the word sets that remain — deterministic, and
explainable in one line.

The score adds up what matched: the same family 0.5, the same origin and cause 0.3, and
0.2 times the message similarity (when it is at least MESSAGE_THRESHOLD).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from server.engine.model import Family
from server.evidence.snapshot import OK, capped, snapshot
from server.evidence.story import exception_of
from server.evidence.subject import Subject
from server.store import incidents, traces

MAX_SIMILAR = 5
MESSAGE_THRESHOLD = 0.6
RECENT_CANDIDATES = 200
WEIGHTS = {"family": 0.5, "origin": 0.3, "message": 0.2}

_MASKS = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), " <id> "),
    (re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b"), " <email> "),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), " <addr> "),
    (re.compile(r"\b(?:0x)?[0-9a-f]*\d[0-9a-f]*[a-f][0-9a-f]*\b|\b(?:0x)?[0-9a-f]*[a-f][0-9a-f]*\d[0-9a-f]*\b"),
     " <id> "),
    (re.compile(r"\"[^\"]*\"|'[^']*'"), " <value> "),
    (re.compile(r"\d+(?:[.,]\d+)*"), " <n> "),
)
_WORDS = re.compile(r"<[a-z]+>|[a-z_]+")


def normalise_message(text: str) -> str:
    """`Timeout after 3000 ms calling 10.0.0.7:443 (req 9f8e7d6c5b4a)` -> `timeout after <n> ms calling <addr>
    req <id>`: what stays the same when the same failure happens again."""
    value = text.lower()
    for pattern, mask in _MASKS:
        value = pattern.sub(mask, value)
    return " ".join(_WORDS.findall(value))


def message_similarity(a: str | None, b: str | None) -> float:
    """Jaccard index of the normalised messages' words; 0 when either is missing."""
    if not a or not b:
        return 0.0
    left, right = set(normalise_message(a).split()), set(normalise_message(b).split())
    if not left or not right:
        return 0.0
    return round(len(left & right) / len(left | right), 3)


@dataclass(frozen=True)
class Candidate:
    """An earlier incident as the similarity reads it."""

    id: str
    state: str
    onset: float
    cause: str
    confidence: str
    family: Family  # its first family
    families: frozenset[Family]
    origin: tuple[str, str] | None  # (service, step) of the engine's origin
    message: str | None  # its error message ("Type: message"), when the failing spans carry one


def score_candidate(families: Iterable[Family], origin: tuple[str, str] | None, cause: str, message: str | None,
                    candidate: Candidate) -> dict[str, Any] | None:
    """The candidate as a similar incident (score, match, reason), or None when nothing matches."""
    # The candidate's own first family leads when it is one of those shared.
    shared = sorted(set(families) & candidate.families, key=lambda f: (f != candidate.family, f))
    same_origin = origin is not None and candidate.origin == origin and candidate.cause == cause
    alike = message_similarity(message, candidate.message)
    if not shared and not same_origin and alike < MESSAGE_THRESHOLD:
        return None
    reasons, score = [], 0.0
    if shared:
        score += WEIGHTS["family"]
        reasons.append(f"same family {shared[0].label}")
    if same_origin:
        score += WEIGHTS["origin"]
        reasons.append(f"same origin ({origin[0]} {origin[1]}) and cause ({cause})")  # type: ignore[index]
    if alike >= MESSAGE_THRESHOLD:
        score += WEIGHTS["message"] * alike
        reasons.append(f"error messages {alike * 100:.0f}% alike with numbers and ids masked"
                       f" (\"{normalise_message(candidate.message or '')[:80]}\")")
    match = "same_family" if shared else "same_origin_and_cause" if same_origin else "similar_message"
    family = shared[0] if shared else candidate.family
    return {"id": candidate.id, "state": candidate.state, "onset": candidate.onset, "cause": candidate.cause,
            "confidence": candidate.confidence, "family": family, "match": match, "score": round(score, 3),
            "reason": "; ".join(reasons)}


def rank_similar(families: Iterable[Family], origin: tuple[str, str] | None, cause: str, message: str | None,
                 candidates: Iterable[Candidate]) -> list[dict[str, Any]]:
    families = list(families)
    found = [s for c in candidates if (s := score_candidate(families, origin, cause, message, c)) is not None]
    return sorted(found, key=lambda s: (-s["score"], -s["onset"], s["id"]))


def similar_snapshot(found: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """`found`: as `rank_similar` (or `store.incidents.similar_incidents`, without scores) gives them."""
    ordered = sorted(found, key=lambda s: (-(s.get("score") or 0), -s["onset"], s["id"]))
    kept, left_out = capped(ordered, MAX_SIMILAR)
    items = [{"id": s["id"], "state": s["state"], "onset": s["onset"], "cause": s["cause"],
              "confidence": s["confidence"], "family": s["family"].label, "family_id": s["family"].evidence_id,
              "match": s["match"], "score": s.get("score"), "reason": s.get("reason")} for s in kept]
    return snapshot(OK, items=items, items_left_out=left_out)


def message_of(sample_traces: Sequence[str]) -> str | None:
    """The first error message the failing spans of the sample traces carry ("Type: message")."""
    for event in traces.failing_events(list(sample_traces)[:5]):
        exception = exception_of(event.attributes)
        if exception and exception.get("message"):
            return f"{exception['type']}: {exception['message']}"
    return None


def similar_to(incident_id: str, families: Sequence[Family], onset: float, origin: tuple[str, str] | None,
               cause: str, message: str | None) -> list[dict[str, Any]]:
    """Every earlier incident similar to the one described, ranked."""
    matched = incidents.similar_incidents(incident_id, list(families), onset, origin, cause)
    ids = [m["id"] for m in matched]
    if message:
        # Only an incident with an error message looks further back than its families and origin,
        # for the newest incidents with a similar message: a tick stays cheap without one.
        ids += incidents.recent_incident_ids(incident_id, onset, RECENT_CANDIDATES)
    rows = incidents.similarity_rows(ids, with_messages=message is not None)
    return rank_similar(families, origin, cause, message, (Candidate(**row) for row in rows))


def capture_similar(subject: Subject) -> dict[str, Any]:
    origin = subject.origin
    key = (origin["service"], origin.get("step")) if origin.get("service") else None
    message = message_of(subject.analysis.get("sample_traces") or [])
    return similar_snapshot(similar_to(subject.incident_id, subject.families, subject.onset, key,
                                       subject.cause.get("kind", "unknown"), message))


def similar_for(incident: dict[str, Any], limit: int = 20) -> list[dict[str, Any]]:
    """The incident's similar past incidents, ranked, from its stored state (`incident` as
    `store.incidents.get_incident` returns it): what GET /v1/incidents/{id}/similar lists."""
    families = [Family(f["service"], f["env"], f["step"], f["error_code"]) for f in incident.get("families") or []]
    origin = (incident.get("analysis") or {}).get("origin") or {}
    key = (origin["service"], origin.get("step")) if origin.get("service") else None
    snapshots = incident.get("snapshots") or {}
    propagation = snapshots.get(("propagation", "latest")) or snapshots.get(("propagation", "opening")) or {}
    exception = propagation.get("exception") or {}
    message = f"{exception.get('type')}: {exception['message']}" if exception.get("message") else None
    return similar_to(incident["id"], families, incident["onset"], key, incident["cause"], message)[:limit]
