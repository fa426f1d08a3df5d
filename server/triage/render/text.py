"""Plain text for the terminal (`onset triage ID`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.triage.render import phrases
from server.triage.render.outline import Section, outline

MAX_EVIDENCE_LINES = 100


def _section(section: Section) -> list[str]:
    title = section.title + (f" ({section.note})" if section.note else "")
    lines = [title]
    shown, left_out = section.lines, section.left_out
    if section.key == "evidence" and len(shown) > MAX_EVIDENCE_LINES:
        shown, left_out = shown[:MAX_EVIDENCE_LINES], left_out + len(shown) - MAX_EVIDENCE_LINES
    for n, line in enumerate(shown, 1):
        bullet = f"{n}." if section.numbered else "-"
        cites = f"  [{phrases.cited(line.evidence)}]" if line.evidence and section.key != "evidence" else ""
        lines.append(f"  {bullet} {line.text}{cites}")
    if left_out:
        lines.append(f"  {phrases.left_out_line(left_out, section.left_out_what)}")
    return lines


def render(report: Mapping[str, Any]) -> str:
    lines = [phrases.headline(report), ""]
    for section in outline(report):
        lines += _section(section)
        lines.append("")
    lines += phrases.hash_lines(report)
    return "\n".join(lines) + "\n"
