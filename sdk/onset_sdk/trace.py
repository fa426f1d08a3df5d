"""W3C Trace Context: reading and writing `traceparent`, and new ids.

Ids come from the `random` module's global generator, which Python reseeds in a forked
child, so gunicorn workers forked from one master never share ids.
"""

from __future__ import annotations

import random
import re

# version-traceid-parentid-flags; later versions may append fields after the flags.
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16

_bits = random.getrandbits


def new_trace_id() -> str:
    return f"{_bits(128) or 1:032x}"


def new_span_id() -> str:
    return f"{_bits(64) or 1:016x}"


def parse_traceparent(header: str | None) -> tuple[str, str] | None:
    """(trace id, parent span id) from a `traceparent` header, or None when it is absent or
    invalid (then the request starts a new trace, as the W3C rules say)."""
    if not header:
        return None
    match = _TRACEPARENT.match(header.strip().lower())
    if match is None:
        return None
    version, trace_id, span_id, _flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return trace_id, span_id


def format_traceparent(trace_id: str, span_id: str) -> str:
    # Sampled: Onset records every request; the flag tells downstream tracers to do so too.
    return f"00-{trace_id}-{span_id}-01"
