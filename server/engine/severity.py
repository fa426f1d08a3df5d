"""Severity P1..P4 from the blast radius, and whether a derivation may replace what is set. Pure.

Each of P1, P2 and P3 has a rule: any-of thresholds over the blast snapshot (`error_rate`,
`users`, `failed`, `services`). The first level whose rule holds is the severity; none
holding is P4. A person's severity is kept over every later derivation, and a derived one
only rises: an incident that hit a thousand users stays P1 while it recovers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SEVERITIES = ("P1", "P2", "P3", "P4")
METRICS = ("error_rate", "users", "failed", "services")
DERIVED, MANUAL = "derived", "manual"


@dataclass(frozen=True)
class Threshold:
    metric: str
    value: float

    def text(self) -> str:
        value = f"{self.value * 100:g}%" if self.metric == "error_rate" else f"{self.value:g}"
        return f"{self.metric.replace('_', ' ')} >= {value}"


@dataclass(frozen=True)
class SeverityRules:
    """Thresholds of P1, P2 and P3 (each any-of); P4 is everything below P3."""

    p1: tuple[Threshold, ...]
    p2: tuple[Threshold, ...]
    p3: tuple[Threshold, ...]

    def levels(self) -> tuple[tuple[str, tuple[Threshold, ...]], ...]:
        return (("P1", self.p1), ("P2", self.p2), ("P3", self.p3))


def parse_rule(text: str) -> tuple[Threshold, ...]:
    """`error_rate>=0.5,users>=1000` -> thresholds. Raises ValueError naming what is wrong."""
    found = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        metric, sep, value = part.partition(">=")
        metric = metric.strip()
        if not sep or metric not in METRICS:
            raise ValueError(f"{part!r}: write METRIC>=NUMBER with METRIC one of {', '.join(METRICS)}")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{part!r}: {value.strip()!r} is not a number") from None
        if number < 0 or number != number:
            raise ValueError(f"{part!r}: must be 0 or more")
        found.append(Threshold(metric, number))
    return tuple(found)


@dataclass(frozen=True)
class SeverityVerdict:
    level: str
    reason: str


def blast_metrics(blast: Mapping[str, Any]) -> dict[str, float | None]:
    """The measured values a rule can name, from a blast snapshot (None: not measured)."""
    requests = blast.get("requests") or {}
    return {"error_rate": blast.get("error_rate"), "users": blast.get("users"),
            "failed": requests.get("failed"), "services": len(blast.get("services") or []) or None}


def derive_severity(blast: Mapping[str, Any] | None, rules: SeverityRules) -> SeverityVerdict:
    """The severity the blast snapshot's numbers reach, with the threshold that decided."""
    if not blast or blast.get("status") == "missing":
        return SeverityVerdict("P4", "no blast radius captured yet")
    measured = blast_metrics(blast)
    for level, thresholds in rules.levels():
        for threshold in thresholds:
            value = measured.get(threshold.metric)
            if value is not None and value >= threshold.value:
                shown = f"{value * 100:.1f}%" if threshold.metric == "error_rate" else f"{value:g}"
                return SeverityVerdict(level, f"{threshold.metric.replace('_', ' ')} {shown} reaches {level}"
                                              f" ({threshold.text()})")
    return SeverityVerdict("P4", "below every P3 threshold")


def rank(level: str | None) -> int:
    """Lower is more severe; an unknown level ranks below P4."""
    return SEVERITIES.index(level) if level in SEVERITIES else len(SEVERITIES)


def next_severity(current: str | None, source: str | None, derived: SeverityVerdict) -> SeverityVerdict | None:
    """The derived severity to record, or None to keep `current`: a person's choice stays, and a
    derived severity never falls."""
    if source == MANUAL:
        return None
    if current is None or rank(derived.level) < rank(current):
        return derived
    return None
