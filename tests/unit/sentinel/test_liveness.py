"""sentinel.liveness: a gap of more than three ticks becomes sentinel_stale, raised and cleared."""

from __future__ import annotations

from server.sentinel.liveness import gap_of, stale_writes

T0 = 1_700_000_000.0


def test_three_intervals_without_a_tick_is_not_yet_a_gap():
    assert gap_of(T0, T0 + 30, 10, "h") is None
    assert gap_of(None, T0, 10, "h") is None


def test_a_longer_gap_is_raised_when_it_began_and_cleared_when_the_engine_resumed():
    gap = gap_of(T0, T0 + 95, 10, "host:1:abc")
    writes = stale_writes(gap, 10)
    raised, cleared = writes.raises[0], writes.clears[0]
    assert raised.at == T0 + 30
    assert raised.finding.key == "sentinel_stale" and raised.finding.scope == "engine"
    assert raised.finding.stale_since == T0
    assert raised.finding.details["gap_seconds"] == 95
    assert "no engine ticked for 95s" in raised.finding.reason
    assert cleared.alert.id == raised.alert_id and cleared.at == T0 + 95
    assert cleared.reason == "engine host:1:abc resumed ticking"
