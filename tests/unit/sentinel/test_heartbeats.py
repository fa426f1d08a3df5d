"""sentinel.heartbeats: heartbeat_missed and pipeline_stalled."""

from __future__ import annotations

from server.sentinel.heartbeats import (
    MISSED,
    STALLED,
    Heartbeat,
    check_heartbeats,
    heartbeat_scope,
    pipeline_scope,
)
from server.sentinel.model import ActiveAlert
from server.sentinel.reconcile import reconcile

T0 = 1_700_000_000.0


def beat(source: str, last: float, interval: float = 30, after: str | None = None) -> Heartbeat:
    return Heartbeat(source, interval, after, last)


def test_a_beat_within_twice_its_interval_is_on_time():
    assert not check_heartbeats([beat("etl", T0 - 60)], set(), {}, T0).bad


def test_a_beat_late_by_more_than_twice_its_interval_raises_heartbeat_missed():
    result = check_heartbeats([beat("etl", T0 - 61)], set(), {}, T0)
    finding = result.bad[(MISSED, heartbeat_scope("etl"))]
    assert finding.stale_since == T0 - 61
    assert finding.reason == "no heartbeat from etl for 61s (expected every 30s)"


def test_the_next_beat_clears_it():
    alert = ActiveAlert("hal_1", MISSED, "heartbeat:etl", "critical", None, None, "late", {}, T0 - 100, T0 - 40)
    result = check_heartbeats([beat("etl", T0 - 1)], set(), {(MISSED, "heartbeat:etl"): alert}, T0)
    writes = reconcile(result, {(MISSED, "heartbeat:etl"): alert}, T0)
    assert writes.clears[0].reason.startswith("beat received at ")


def test_a_stage_that_stops_while_its_upstream_beats_is_a_stalled_pipeline():
    beats = [beat("extract", T0 - 5), beat("load", T0 - 100, after="extract")]
    result = check_heartbeats(beats, set(), {}, T0)
    stalled = result.bad[(STALLED, pipeline_scope("extract", "load"))]
    assert stalled.reason == "load stopped 100s ago while its upstream extract still beats"
    assert (MISSED, heartbeat_scope("load")) in result.bad


def test_a_stage_that_stops_while_the_service_before_it_sends_events_is_stalled():
    result = check_heartbeats([beat("indexer", T0 - 100, after="checkout")], {"checkout"}, {}, T0)
    assert "while its upstream checkout still sends events" in result.bad[
        (STALLED, pipeline_scope("checkout", "indexer"))].reason


def test_when_the_upstream_stopped_too_only_the_missed_beats_are_raised():
    beats = [beat("extract", T0 - 100), beat("load", T0 - 100, after="extract")]
    result = check_heartbeats(beats, set(), {}, T0)
    assert set(result.bad) == {(MISSED, "heartbeat:extract"), (MISSED, "heartbeat:load")}


def test_a_stalled_pipeline_stays_until_its_stage_beats_again():
    scope = pipeline_scope("extract", "load")
    alert = ActiveAlert("hal_2", STALLED, scope, "critical", None, None, "load stopped", {}, T0 - 100, T0 - 50)
    late_both = [beat("extract", T0 - 100), beat("load", T0 - 100, after="extract")]
    assert (STALLED, scope) in check_heartbeats(late_both, set(), {(STALLED, scope): alert}, T0).bad
    back = [beat("extract", T0 - 100), beat("load", T0 - 1, after="extract")]
    assert (STALLED, scope) not in check_heartbeats(back, set(), {(STALLED, scope): alert}, T0).bad
