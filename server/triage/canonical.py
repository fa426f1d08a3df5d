"""Canonical JSON and the report's two hashes. The one place a hash of a report is made.

Canonical JSON: keys sorted, no insignificant whitespace, UTF-8 (orjson with sorted keys).
`report_hash` covers the report without its volatile fields: when the report was made and
from which captures (`generated_at`, `provenance`), the hash itself, and a suspect
deploy's before/after error rates (they keep moving while traffic arrives). The same
incident state therefore hashes the same on every surface, whenever it is read.
`evidence_fingerprint` covers only the set of evidence ids: it changes when evidence is
added or removed, not when counts move.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

VOLATILE = ("generated_at", "provenance", "report_hash")
VOLATILE_CHANGE_FIELDS = ("error_rates",)


def canonical_json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hashable(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report without its volatile fields (a copy; `report` is not changed)."""
    stable = {k: v for k, v in report.items() if k not in VOLATILE}
    changed = stable.get("what_changed")
    if isinstance(changed, Mapping) and isinstance(changed.get("items"), list):
        stable["what_changed"] = {
            **changed,
            "items": [{k: v for k, v in item.items() if k not in VOLATILE_CHANGE_FIELDS}
                      for item in changed["items"]],
        }
    return stable


def report_hash(report: Mapping[str, Any]) -> str:
    """`sha256:<hex>` of the canonical JSON of the report's non-volatile fields."""
    return _sha256(canonical_json(hashable(report)))


def evidence_fingerprint(evidence_ids: Iterable[str]) -> str:
    """`sha256:<hex>` over the sorted, distinct evidence ids, one per line."""
    return _sha256("\n".join(sorted(set(evidence_ids))).encode())
