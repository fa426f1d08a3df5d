"""What a parser makes of one request: normalised alerts, rejected items, ignored events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.store.alerts import AlertRecord


@dataclass
class Parsed:
    """`rejected`: `{"index", "fields"}` per bad alert; `ignored`: `{"index", "reason"}` per item
    the sender may send that is not an alert (a PagerDuty note, a ping); `truncated`: alerts
    the sender said it left out (Alertmanager's `truncatedAlerts`: not resolved, just unsent)."""

    source: str
    records: list[AlertRecord] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)
    truncated: int = 0

    def reject(self, index: int, errors: dict[str, list[str]]) -> None:
        self.rejected.append({"index": index, "fields": errors})

    def ignore(self, index: int, reason: str) -> None:
        self.ignored.append({"index": index, "reason": reason})
