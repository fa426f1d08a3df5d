"""Digests read from the store, and the optional weekly schedule that writes each finished
week's digest under `<data dir>/digests/` (ONSET_DIGEST_WEEKLY, off by default)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import orjson

from server.config import Settings
from server.incidentlog.digest import build_digest, previous_week, render_markdown, week_bounds
from server.store import digests

log = logging.getLogger("onset.digest")

CHECK_EVERY_SECONDS = 600.0


def digest_of(week: str, now: float) -> dict[str, Any]:
    """The digest of ISO week `week` as of `now` (raises ValueError for a bad week)."""
    start, end = week_bounds(week)
    as_of = min(end, now)
    return build_digest(week, start, end, as_of, digests.incidents_between(start, end),
                        digests.followups_overdue_at(as_of), digests.silent_services_between(start, end))


def digest_json(digest: dict[str, Any]) -> bytes:
    return orjson.dumps(digest, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def _write(path: Path, data: bytes) -> None:
    # Write beside, then rename: a reader never sees half a digest.
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.write_bytes(data)
    os.replace(draft, path)


class WeeklyDigests:
    """Run from the engine leader's loop: once a week is over, write its digest once."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.directory = Path(settings.data_dir) / "digests"
        self._checked_at: float | None = None

    def maybe_run(self, now: float) -> Path | None:
        if not self.settings.digest_weekly:
            return None
        if self._checked_at is not None and now - self._checked_at < CHECK_EVERY_SECONDS:
            return None
        self._checked_at = now
        week = previous_week(now)
        markdown_path = self.directory / f"{week}.md"
        if markdown_path.exists():
            return None
        try:
            digest = digest_of(week, now)
            self.directory.mkdir(parents=True, exist_ok=True)
            _write(self.directory / f"{week}.json", digest_json(digest))
            _write(markdown_path, render_markdown(digest).encode())
        except Exception:  # a digest must never stop the engine
            log.exception("writing the digest of %s failed", week)
            return None
        log.info("wrote the digest of %s to %s", week, self.directory)
        return markdown_path
