"""The incident lifecycle as a pure function of the current state, spiking and time."""

from __future__ import annotations

from server.engine.lifecycle import next_state
from server.engine.model import ACTIVE, RECOVERING, RESOLVED
from tests.support.factories import T0

QUIET = 300.0


def test_active_incident_stays_active_while_it_spikes():
    assert next_state(ACTIVE, True, None, T0, QUIET) is None


def test_active_incident_recovers_when_its_families_stop_spiking():
    transition = next_state(ACTIVE, False, None, T0, QUIET)
    assert transition is not None and transition.to_state == RECOVERING


def test_recovering_incident_waits_for_the_whole_quiet_period():
    since = T0
    assert next_state(RECOVERING, False, since, since + QUIET - 1, QUIET) is None
    resolved = next_state(RECOVERING, False, since, since + QUIET, QUIET)
    assert resolved is not None and resolved.to_state == RESOLVED


def test_respike_while_recovering_reactivates_even_after_the_quiet_period():
    # A family spiking again wins over the timer: the episode is not over.
    for now in (T0 + 10, T0 + QUIET + 10):
        transition = next_state(RECOVERING, True, T0, now, QUIET)
        assert transition is not None and transition.to_state == ACTIVE


def test_resolved_incident_never_moves_again():
    # A new spike after resolution is a new incident, decided by the tick, not a reopening.
    assert next_state(RESOLVED, True, None, T0, QUIET) is None
    assert next_state(RESOLVED, False, None, T0, QUIET) is None


def test_zero_quiet_period_resolves_on_the_next_quiet_tick():
    transition = next_state(RECOVERING, False, T0, T0, 0.0)
    assert transition is not None and transition.to_state == RESOLVED
