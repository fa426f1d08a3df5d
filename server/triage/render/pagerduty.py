"""A PagerDuty incident note: compact plain text, hashes first, within NOTE_LIMIT characters.

Evidence is listed last and cut first, with a count of what was left out; the hashes and
the sections above it always fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.triage.render import phrases
from server.triage.render.outline import outline

NOTE_LIMIT = 24_000
MAX_EVIDENCE_LINES = 25
MAX_LINE = 1000


def _clip(text: str, limit: int = MAX_LINE) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def render(report: Mapping[str, Any]) -> str:
    head = [_clip(phrases.headline(report)), *phrases.hash_lines(report)]
    body: list[str] = []
    evidence: list[str] = []
    evidence_left_out = 0
    for section in outline(report):
        title = section.title + (f" ({_clip(section.note, 300)})" if section.note else "")
        if section.key == "evidence":
            evidence = [f"- {_clip(line.text, 300)}" for line in section.lines]
            evidence_left_out = section.left_out
            body.append(title)
            continue
        body.append(title)
        for n, line in enumerate(section.lines, 1):
            cites = f" [{phrases.cited(line.evidence)}]" if line.evidence else ""
            body.append(f"{f'{n}.' if section.numbered else '-'} {_clip(line.text + cites)}")
        if section.left_out:
            body.append(phrases.left_out_line(section.left_out, section.left_out_what))
    shown, dropped = evidence[:MAX_EVIDENCE_LINES], len(evidence) - MAX_EVIDENCE_LINES + evidence_left_out
    while True:
        tail = [phrases.left_out_line(max(dropped, 0), "evidence items")] if dropped > 0 else []
        note = "\n".join(head + [""] + body + shown + tail)
        if len(note) <= NOTE_LIMIT or not shown:
            break
        shown, dropped = shown[:-1], dropped + 1
    return note if len(note) <= NOTE_LIMIT else note[:NOTE_LIMIT - 1] + "…"
