"""The snapshot envelope, the similar-incidents snapshot and stored snapshots read back."""

from __future__ import annotations

import pytest

from server.evidence.similar import MAX_SIMILAR, similar_snapshot
from server.evidence.snapshot import capped, rate, snapshot, worst
from server.evidence.stored import current_snapshots, stored_snapshot
from tests.support.triage_state import T0, past_incident


def test_a_snapshot_that_is_not_ok_must_say_why():
    with pytest.raises(AssertionError):
        snapshot("partial")
    assert snapshot("ok", items=[]) == {"version": 1, "status": "ok", "status_reason": None, "items": []}


def test_caps_count_what_they_leave_out():
    assert capped([1, 2, 3], 2) == ([1, 2], 1)
    assert capped([1], 5) == ([1], 0)


def test_worst_status_and_rates():
    assert worst("ok", "missing", "partial") == "missing"
    assert rate(1, 3) == 0.3333 and rate(0, 0) is None


def test_similar_incidents_most_recent_first_capped():
    found = [past_incident(f"inc_2023110{i}_0900_abcdef", T0 - i * 3600) for i in range(MAX_SIMILAR + 2)]
    s = similar_snapshot(list(reversed(found)))
    assert [x["id"] for x in s["items"]] == [f["id"] for f in found[:MAX_SIMILAR]]
    assert s["items_left_out"] == 2 and s["items"][0]["family_id"].startswith("family:payment")


def test_stored_snapshots_prefer_latest_and_stand_in_for_kinds_never_captured():
    stored = {("blast", "opening"): {"captured_at": 1.0, "status": "ok", "status_reason": None},
              ("blast", "latest"): {"captured_at": 2.0, "status": "partial", "status_reason": "why"}}
    assert stored_snapshot(stored, "blast").phase == "latest"
    assert stored_snapshot(stored, "blast", ("opening",)).content["status"] == "ok"
    current = current_snapshots(stored)
    assert current["change"].phase is None and current["change"].content["status"] == "missing"
    assert "captured_at" not in current["blast"].content
