"""Incident lifecycle: active -> recovering -> resolved, as a pure function of time, spikes and
a person's decision."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from server.engine.model import ACTIVE, RECOVERING, RESOLVED, Family


@dataclass(frozen=True)
class Transition:
    to_state: str
    reason: str


@dataclass(frozen=True)
class ManualState:
    """A person's decision on an incident's state: `resolved` (resolved by hand) or `active`
    (reopened, or declared by hand). The engine applies it and then keeps it: it never moves
    the incident away from it on its own; only another person's decision does."""

    state: str
    by: str
    at: float
    reason: str | None = None
    declared: bool = False


def next_state(state: str, spiking: bool, recovering_since: float | None, now: float,
               resolve_after: float, manual: ManualState | None = None) -> Transition | None:
    """The transition an open incident takes this tick, or None to stay as it is.

    An incident is spiking while any of its families still is, judged against the baseline
    frozen when the family joined (a sustained outage must not become its own baseline).
    With a person's decision (`manual`), that decision alone moves it.
    """
    if manual is not None:
        return manual_transition(state, manual)
    if state == ACTIVE and not spiking:
        return Transition(RECOVERING, "families stopped spiking")
    if state == RECOVERING and spiking:
        return Transition(ACTIVE, "a family spiked again while recovering")
    if state == RECOVERING and recovering_since is not None and now - recovering_since >= resolve_after:
        return Transition(RESOLVED, f"quiet for {resolve_after:g}s")
    return None


def manual_transition(state: str, manual: ManualState) -> Transition | None:
    """The move that brings `state` to the person's decision, or None once it is there."""
    why = f": {manual.reason}" if manual.reason else ""
    if manual.state == RESOLVED:
        return None if state == RESOLVED else Transition(RESOLVED, f"resolved by {manual.by}{why}")
    if state == ACTIVE:
        return None  # held active: no recovering, no resolving until a person resolves it
    return Transition(ACTIVE, f"reopened by {manual.by}{why}")


@dataclass(frozen=True)
class PastIncident:
    """The newest earlier incident of a family, as the tick reads it for a new spike."""

    id: str
    family: Family
    onset: float
    state: str
    manual_state: str | None
    manual_by: str | None


def follows(group: Iterable[Family], latest: Sequence[PastIncident]) -> PastIncident | None:
    """The incident a new spike of `group` is the return of: the newest earlier incident of one
    of its families, when a person resolved it by hand. None when the failure's last incident
    ended on its own (the similar-incidents evidence still lists it)."""
    families = set(group)
    mine = sorted((p for p in latest if p.family in families), key=lambda p: (-p.onset, p.id))
    if mine and mine[0].state == RESOLVED and mine[0].manual_state == RESOLVED:
        return mine[0]
    return None
