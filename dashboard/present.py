"""Template filters: how times, rates and links read on the dashboard. Formatting only.

Autoescape is on for every dashboard template (they are all `.html`); these filters return
plain strings and let it escape them. `http_url` is the only way a URL from the data
becomes an href: autoescape does not stop `javascript:` URLs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask

from server.timefmt import duration, iso
from server.triage.render.phrases import percent

STATE_CLASSES = {"active": "state-active", "recovering": "state-recovering", "resolved": "state-resolved"}


def http_url(url: Any) -> str | None:
    """`url` when it is an http(s) URL, else None (no javascript:, data: or relative links)."""
    if isinstance(url, str) and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


def ago(ts: float | None, now: float) -> str:
    """`4s ago`, `12m ago`; `in 3s` for a time ahead of `now`; `never` for None."""
    if ts is None:
        return "never"
    return f"{duration(now - ts)} ago" if now >= ts else f"in {duration(ts - now)}"


def clock(ts: float | None) -> str:
    """`2026-11-22 03:10:04 UTC`."""
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_clock(value: str | None) -> str:
    """An RFC 3339 time from a report, shown like `clock`."""
    if not value:
        return "—"
    return value.replace("T", " ").split(".")[0].rstrip("Z") + " UTC"


def rate(value: float | None) -> str:
    return percent(value)


def state_class(state: str | None) -> str:
    return STATE_CLASSES.get(state or "", "state-unknown")


def register(app: Flask) -> None:
    for name, fn in (("http_url", http_url), ("ago", ago), ("clock", clock), ("iso_clock", iso_clock),
                     ("rate", rate), ("state_class", state_class), ("iso", iso)):
        app.add_template_filter(fn, name)
