"""References from a step's arguments to earlier steps' results.

A string argument `"$steps.<index>.<key>.<key or list index>..."` is replaced by the value
at that path in the result of step `<index>` (any JSON value, not only strings):
`"$steps.0.report.incident.id"`, `"$steps.0.report.where_it_started.sample_traces.0.trace_id"`.
A step may only refer to steps before it. `"$$..."` is the literal string `"$..."`.
Pure: plain data in, plain data out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

PREFIX = "$steps."
_REFERENCE = re.compile(r"^\$steps\.(\d+)((?:\.[A-Za-z0-9_-]+)*)$")


class MissingReference(LookupError):
    """A reference names a path that the earlier result does not have (or holds null)."""

    def __init__(self, reference: str, why: str):
        super().__init__(f"{reference}: {why}")
        self.reference = reference
        self.why = why


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def reference_problem(value: str, step_index: int) -> str | None:
    """Why `value` is not a valid reference from step `step_index`, or None."""
    match = _REFERENCE.match(value)
    if match is None:
        return f"{value!r} is not a reference: write $steps.<index>.<key>..."
    if int(match.group(1)) >= step_index:
        return f"{value!r} refers to step {match.group(1)}, which does not run before step {step_index}"
    return None


def references_in(value: Any) -> list[str]:
    """Every reference string inside `value` (nested dicts and lists included)."""
    if is_reference(value):
        return [value]
    if isinstance(value, Mapping):
        return [r for v in value.values() for r in references_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in references_in(v)]
    return []


def _lookup(reference: str, results: Sequence[Any]) -> Any:
    match = _REFERENCE.match(reference)
    if match is None:
        raise MissingReference(reference, "malformed reference")
    index = int(match.group(1))
    if index >= len(results) or results[index] is None:
        raise MissingReference(reference, f"step {index} has no result")
    value = results[index]
    walked = f"$steps.{index}"
    for part in filter(None, match.group(2).split(".")):
        if value is None:
            break
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise MissingReference(reference, f"{walked} has no {part!r}")
        walked += f".{part}"
    if value is None:
        raise MissingReference(reference, f"{walked} is null")
    return value


def resolve(value: Any, results: Sequence[Any]) -> Any:
    """`value` with every reference replaced by what it names in `results` (one result per
    earlier step, None for a step without one). Raises MissingReference."""
    if isinstance(value, str):
        if value.startswith("$$"):
            return value[1:]
        return _lookup(value, results) if value.startswith(PREFIX) else value
    if isinstance(value, Mapping):
        return {k: resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, results) for v in value]
    return value
