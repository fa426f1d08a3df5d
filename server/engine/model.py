"""Plain data passed between the engine's stages. No I/O, no framework imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

ACTIVE = "active"
RECOVERING = "recovering"
RESOLVED = "resolved"
OPEN_STATES = (ACTIVE, RECOVERING)
STATES = (ACTIVE, RECOVERING, RESOLVED)

CAUSES = ("runtime", "deploy", "dependency", "app", "unknown")
CONFIDENCES = ("high", "medium", "low")


class Family(NamedTuple):
    """The identity of a kind of failure. `env` keeps production and staging apart."""

    service: str
    env: str
    step: str
    error_code: str

    @property
    def label(self) -> str:
        return f"{self.service}/{self.step}/{self.error_code}"

    @property
    def evidence_id(self) -> str:
        return f"family:{self.service}/{self.env}/{self.step}/{self.error_code}"

    def as_dict(self) -> dict[str, str]:
        return self._asdict()


@dataclass(frozen=True)
class WindowCounts:
    """A family's errors in the current window and the three prior windows (oldest first),
    and the requests of its (service, env, step) in the current window."""

    errors: int
    priors: tuple[int, int, int]
    requests: int


@dataclass(frozen=True)
class Span:
    """One stored event seen as a span of a trace."""

    trace_id: str
    span_id: str | None
    parent_span_id: str | None
    service: str
    step: str
    kind: str
    peer: str | None
    status: str
    error_code: str | None
    ts: float
    version: str | None = None


@dataclass(frozen=True)
class Change:
    """Something that changed around the services: a deploy, dependency trouble, a crash."""

    evidence_id: str
    type: str  # deploy | dependency | runtime | config | alert
    service: str
    ts: float
    reason: str | None = None
    message: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PathStep:
    service: str
    step: str
    kind: str
    peer: str | None
    error_code: str | None


@dataclass(frozen=True)
class Origin:
    """Where a failure starts in its traces.

    `service`/`step` are the request in which the first failure happened; `via` names the
    dependency when that first failure was an outgoing call that nothing downstream explains.
    """

    service: str
    step: str
    via: str | None
    error_code: str | None
    path: tuple[PathStep, ...]
    traces_seen: int
    traces_agreeing: int
    sample_traces: tuple[str, ...]
    status: str  # ok | partial | missing
    status_reason: str | None
    first_failure_ts: float | None


@dataclass(frozen=True)
class Reason:
    text: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Cause:
    kind: str
    confidence: str
    reasons: tuple[Reason, ...]
    suspect: Change | None = None
    runner_up: Change | None = None


@dataclass(frozen=True)
class NextCheck:
    text: str
    evidence: tuple[str, ...]
