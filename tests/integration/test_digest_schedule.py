"""ONSET_DIGEST_WEEKLY: the engine leader writes each finished week's digest under the data dir, once."""

from __future__ import annotations

import json
from pathlib import Path

from server.engine.tick import Engine
from server.incidentlog.digest import week_bounds, week_of
from server.incidentlog.weekly import WeeklyDigests
from tests.conftest import make_settings
from tests.support.triage_traffic import T0, Fault, play


def test_a_finished_weeks_digest_is_written_once_as_markdown_and_json(store, db_url, tmp_path):
    incident = play(store, Engine(store, "test-engine"), Fault(processor="http_502")).incident_id
    week = week_of(T0)
    next_week = week_bounds(week)[1] + 3600
    settings = make_settings(db_url, str(tmp_path / "data"), digest_weekly=True)
    writer = WeeklyDigests(settings)
    written = writer.maybe_run(next_week)
    assert written == Path(settings.data_dir) / "digests" / f"{week}.md"
    digest = json.loads((written.parent / f"{week}.json").read_text())
    assert digest["week"] == week and digest["incidents"]["list"][0]["id"] == incident
    assert f"`{incident}`" in written.read_text()
    assert WeeklyDigests(settings).maybe_run(next_week + 7200) is None  # already there: not rewritten


def test_off_by_default(store, tmp_path):
    assert store.digest_weekly is False
    assert WeeklyDigests(store).maybe_run(T0 + 30 * 86400) is None
    assert not (Path(store.data_dir) / "digests").exists()
