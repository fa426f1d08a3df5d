"""Incident lifecycle: active -> recovering -> resolved, as a pure function of time and spikes."""

from __future__ import annotations

from dataclasses import dataclass

from server.engine.model import ACTIVE, RECOVERING, RESOLVED


@dataclass(frozen=True)
class Transition:
    to_state: str
    reason: str


def next_state(state: str, spiking: bool, recovering_since: float | None, now: float,
               resolve_after: float) -> Transition | None:
    """The transition an open incident takes this tick, or None to stay as it is.

    An incident is spiking while any of its families still is, judged against the baseline
    frozen when the family joined (a sustained outage must not become its own baseline).
    """
    if state == ACTIVE and not spiking:
        return Transition(RECOVERING, "families stopped spiking")
    if state == RECOVERING and spiking:
        return Transition(ACTIVE, "a family spiked again while recovering")
    if state == RECOVERING and recovering_since is not None and now - recovering_since >= resolve_after:
        return Transition(RESOLVED, f"quiet for {resolve_after:g}s")
    return None
