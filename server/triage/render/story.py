"""A request story (GET /v1/traces/{id}) as terminal text, for `onset explain`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _span(span: Mapping[str, Any]) -> str:
    indent = "  " * span["depth"]
    what = f"call {span['peer']}" if span["kind"] == "dependency" and span.get("peer") else span["step"]
    label = f"{span['service']} {what}" if span["kind"] == "request" else f"{span['service']} → {what}"
    status = f"✗ {span.get('error_code') or 'error'}" if span["failed"] else "ok"
    timing = f"{span['duration_ms']:.0f}ms" if span.get("duration_ms") is not None else ""
    notes = []
    if span.get("version"):
        notes.append(f"v{span['version']}" if span["version"][:1].isdigit() else span["version"])
    if span.get("first_failure"):
        notes.append("← the failure starts here")
    if span.get("parent_missing"):
        notes.append("(its parent span never arrived)")
    exception = span.get("exception")
    if exception:
        notes.append(f"{exception['type']}: {exception['message']}" if exception.get("message") else exception["type"])
    return (f"{'+' + format(span['offset_ms'], '.1f') + 'ms':>11}  {indent}{label}  {status}  {timing}"
            + (f"  {'  '.join(notes)}" if notes else "")).rstrip()


def render_story(story: Mapping[str, Any]) -> str:
    coverage = story["coverage"]
    lines = [f"trace {story['trace_id']}: {story['summary']}"]
    if coverage["status"] != "ok":
        lines.append(f"coverage {coverage['status']}: {coverage['status_reason']}")
    lines.append(f"({coverage['note']})")
    lines.append("")
    lines += [_span(span) for span in story["spans"]]
    return "\n".join(lines) + "\n"
