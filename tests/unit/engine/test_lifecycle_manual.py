"""engine/lifecycle.py: what a person's decision (resolve, reopen, declare) does to the lifecycle, and
which incident a returning failure follows."""

from __future__ import annotations

from server.engine.lifecycle import ManualState, PastIncident, follows, manual_transition, next_state
from tests.support.factories import T0, family

PAYMENT = family("payment", "POST /charge", "E502")
CHECKOUT = family("checkout", "POST /checkout", "E502")
RESOLVED_BY_ALICE = ManualState("resolved", "alice", T0, "rolled back")
REOPENED_BY_BOB = ManualState("active", "bob", T0, "customers still complain")


def test_a_manual_resolve_resolves_even_while_spiking():
    moved = next_state("active", True, None, T0, 300, RESOLVED_BY_ALICE)
    assert (moved.to_state, moved.reason) == ("resolved", "resolved by alice: rolled back")
    assert next_state("recovering", False, T0, T0 + 1, 300, RESOLVED_BY_ALICE).to_state == "resolved"


def test_a_manual_resolve_once_applied_is_kept():
    assert next_state("resolved", True, None, T0, 300, RESOLVED_BY_ALICE) is None


def test_a_reopen_brings_a_resolved_or_recovering_incident_back_and_holds_it_active():
    assert next_state("resolved", False, None, T0, 300, REOPENED_BY_BOB).to_state == "active"
    assert next_state("recovering", False, T0, T0 + 1000, 300, REOPENED_BY_BOB).reason == \
        "reopened by bob: customers still complain"
    # Held: not spiking for far longer than the quiet period moves it nowhere.
    assert next_state("active", False, None, T0 + 10_000, 300, REOPENED_BY_BOB) is None


def test_a_declared_incident_is_held_active():
    declared = ManualState("active", "carol", T0, "declared by hand", declared=True)
    assert manual_transition("active", declared) is None


def test_a_reason_is_optional():
    assert manual_transition("resolved", ManualState("active", "bob", T0)).reason == "reopened by bob"


def past(incident_id: str, fam, onset: float, state: str = "resolved", manual: str | None = "resolved"):
    return PastIncident(incident_id, fam, onset, state, manual, "alice" if manual else None)


def test_a_new_spike_follows_the_newest_incident_of_its_family_when_a_person_resolved_it():
    latest = [past("inc_old", PAYMENT, T0 - 3600)]
    assert follows([PAYMENT, CHECKOUT], latest).id == "inc_old"


def test_a_failure_whose_last_incident_ended_on_its_own_follows_nothing():
    assert follows([PAYMENT], [past("inc_old", PAYMENT, T0 - 3600, manual=None)]) is None
    assert follows([PAYMENT], [past("inc_open", PAYMENT, T0 - 60, state="active", manual=None)]) is None


def test_only_the_newest_incident_of_the_group_counts():
    latest = [past("inc_by_hand", PAYMENT, T0 - 7200), past("inc_on_its_own", CHECKOUT, T0 - 60, manual=None)]
    assert follows([PAYMENT, CHECKOUT], latest) is None
    assert follows([PAYMENT], latest).id == "inc_by_hand"


def test_another_familys_incident_is_never_followed():
    assert follows([CHECKOUT], [past("inc_old", PAYMENT, T0 - 3600)]) is None
