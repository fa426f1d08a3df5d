"""The incident log's blueprints (docs/incident-log.md), registered together by `server.app`."""

from __future__ import annotations

from server.api import artifacts, catalog, digests, followups, timeline

BLUEPRINTS = (timeline.bp, followups.bp, artifacts.bp, catalog.bp, digests.bp)
