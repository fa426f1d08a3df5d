"""A plan: the steps to run, each a tool and its arguments (which may refer to earlier
steps' results, see `references`). Plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Step:
    tool: str
    args: dict[str, Any]
    # Optional: skipped when a reference in its arguments finds nothing, and its failure
    # does not fail the plan (e.g. "explain the first sample trace, if there is one").
    optional: bool = False


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    template: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
