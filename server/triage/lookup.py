"""Reports read from the store: what the surfaces (REST, CLI through REST, dashboard) call."""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any

from server.store import incidents
from server.triage.report import build_report


@functools.cache
def generator() -> str:
    """`onset <version>` for the report's provenance."""
    try:
        return f"onset {metadata.version('onset')}"
    except metadata.PackageNotFoundError:
        return "onset"


def report_for(incident_id: str) -> dict[str, Any] | None:
    """The `triage.v1` report of an incident from its stored state; None for an unknown id."""
    incident = incidents.get_incident(incident_id)
    if incident is None:
        return None
    return build_report(incident, incident["snapshots"], generator=generator())
