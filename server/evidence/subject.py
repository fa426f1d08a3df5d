"""What evidence is captured about: one incident as the engine sees it in a tick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.engine.model import Family


@dataclass(frozen=True)
class Subject:
    """An incident's identity, families, onset and the engine's analysis (origin, cause,
    next checks, sample traces: the dict `engine.tick.analysis_doc` builds)."""

    incident_id: str
    primary: Family
    families: tuple[Family, ...]
    onset: float
    analysis: dict[str, Any]

    @property
    def origin(self) -> dict[str, Any]:
        return self.analysis.get("origin") or {}

    @property
    def cause(self) -> dict[str, Any]:
        return self.analysis.get("cause") or {}

    @property
    def services(self) -> set[str]:
        """The services involved: the families', the failing path's and the origin's."""
        found = {f.service for f in self.families}
        found |= {p["service"] for p in self.origin.get("path") or [] if p.get("service")}
        if self.origin.get("service"):
            found.add(self.origin["service"])
        return found
