"""Spike detection: counts in, verdicts out. Pure: no clock, no database."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass

from server.engine.model import Family, WindowCounts


@dataclass(frozen=True)
class DetectSettings:
    min_count: int
    lift: float
    min_error_rate: float = 0.0


@dataclass(frozen=True)
class Verdict:
    """Whether a family spikes now, and the named reason."""

    spiking: bool
    reason: str  # spike | below_min_count | below_lift | below_min_error_rate
    errors: int
    baseline: float
    error_rate: float | None


def baseline_of(priors: tuple[int, ...]) -> float:
    # The median of the three prior windows: one odd window can neither hide nor fake a spike.
    return float(statistics.median(priors)) if priors else 0.0


def judge(errors: int, baseline: float, requests: int, settings: DetectSettings) -> Verdict:
    """Verdict for one family given its current errors, a baseline and the step's requests."""
    rate = errors / requests if requests else None
    if errors < settings.min_count:
        return Verdict(False, "below_min_count", errors, baseline, rate)
    if errors < settings.lift * baseline:
        return Verdict(False, "below_lift", errors, baseline, rate)
    if settings.min_error_rate > 0 and rate is not None and rate < settings.min_error_rate:
        return Verdict(False, "below_min_error_rate", errors, baseline, rate)
    return Verdict(True, "spike", errors, baseline, rate)


def detect(counts: Mapping[Family, WindowCounts], settings: DetectSettings) -> dict[Family, Verdict]:
    """A verdict for every family in `counts`, judged against its own prior windows."""
    return {
        family: judge(c.errors, baseline_of(c.priors), c.requests, settings)
        for family, c in counts.items()
    }
