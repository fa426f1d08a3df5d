"""Incidents: active and recovering first, resolved below and paged; filters by service,
env, cause and state; the list refreshes itself (htmx polls /ui/incidents/list with the
same filters) and says in red when the database or the engine is in trouble."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from flask import current_app, g, render_template, request

from dashboard.blueprint import bp
from dashboard.session import signed_in
from server.engine.model import CAUSES, OPEN_STATES, RESOLVED, STATES
from server.health import readiness
from server.store import followups, incidents

PAGE_SIZE = 20
OPEN_LIMIT = 200
REFRESH_SECONDS = 3
MAX_FILTER = 200
OVERDUE_SHOWN = 50  # overdue follow-ups flagged above the list


@dataclass(frozen=True)
class Filters:
    """The list's filters as the query string gives them; unknown values are dropped."""

    service: str | None = None
    env: str | None = None
    cause: str | None = None
    state: str | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        def text(name: str) -> str | None:
            value = (args.get(name) or "").strip()
            return value[:MAX_FILTER] or None

        page = args.get("page", "1")
        return cls(text("service"), text("env"), args.get("cause") if args.get("cause") in CAUSES else None,
                   args.get("state") if args.get("state") in STATES else None,
                   int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1)

    def query(self, **changes: Any) -> str:
        """The query string of these filters with `changes` applied (page 1 left out)."""
        values = {**asdict(self), **changes}
        return urlencode({k: v for k, v in values.items() if v and not (k == "page" and v == 1)})

    @property
    def active(self) -> bool:
        return any((self.service, self.env, self.cause, self.state))


def listing(filters: Filters) -> dict[str, Any]:
    """What the list shows: open incidents, one page of resolved ones, and their counts."""
    by = {"service": filters.service, "env": filters.env, "cause": filters.cause}
    open_states = tuple(s for s in OPEN_STATES if filters.state in (None, s))
    show_resolved = filters.state in (None, RESOLVED)
    resolved_total = incidents.count_incidents((RESOLVED,), **by) if show_resolved else 0
    pages = max(1, -(-resolved_total // PAGE_SIZE))
    page = min(filters.page, pages)
    return {
        "open": incidents.find_incidents(open_states, limit=OPEN_LIMIT, **by),
        "show_resolved": show_resolved,
        "resolved": incidents.find_incidents((RESOLVED,), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **by)
        if show_resolved else [],
        "resolved_total": resolved_total, "page": page, "pages": pages,
    }


def _context() -> dict[str, Any]:
    filters = Filters.from_args(request.args)
    overdue = followups.find_followups(g.now, overdue=True, service=filters.service, limit=OVERDUE_SHOWN)
    return {"filters": filters, "listing": listing(filters), "refresh_seconds": REFRESH_SECONDS,
            "health": readiness(current_app.config["ONSET"], g.now), "overdue": overdue,
            "overdue_by_incident": Counter(f["incident_id"] for f in overdue)}


@bp.get("/")
@signed_in()
def incidents_page():
    return render_template("incidents.html", facets=incidents.incident_facets(), causes=CAUSES, states=STATES,
                           **_context())


@bp.get("/incidents/list")
@signed_in()
def incidents_list():
    return render_template("_incident_list.html", **_context())
