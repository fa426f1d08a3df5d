"""Markdown (GitHub flavour): for tickets, postmortems and chat tools that read Markdown."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from server.triage.render import phrases
from server.triage.render.outline import Line, Section, outline

MAX_EVIDENCE_LINES = 200
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def escape(text: str) -> str:
    """Text that Markdown shows as written: its markup characters backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def code(text: str) -> str:
    # A code span cannot hold its own delimiter; ids and hashes never contain backticks.
    return "`" + text.replace("`", "'") + "`"


def _line(line: Line, section: Section, n: int) -> str:
    bullet = f"{n}." if section.numbered else "-"
    text = escape(line.text)
    if line.link:
        text += f" ([link](<{line.link.replace('>', '%3E').replace(' ', '%20')}>))"
    cites = f" — {', '.join(code(e) for e in line.evidence)}" if line.evidence and section.key != "evidence" else ""
    return f"{bullet} {text}{cites}"


def render(report: Mapping[str, Any]) -> str:
    out = [f"## {escape(phrases.headline(report))}", ""]
    for section in outline(report):
        out.append(f"### {escape(section.title)}")
        if section.note:
            out.append(f"_{escape(section.note)}_")
        out.append("")
        shown, left_out = section.lines, section.left_out
        if section.key == "evidence" and len(shown) > MAX_EVIDENCE_LINES:
            shown, left_out = shown[:MAX_EVIDENCE_LINES], left_out + len(shown) - MAX_EVIDENCE_LINES
        out += [_line(line, section, n) for n, line in enumerate(shown, 1)]
        if left_out:
            out.append(f"- {escape(phrases.left_out_line(left_out, section.left_out_what))}")
        out.append("")
    out += [f"{escape('report_hash')}: {code(report['report_hash'])}  ",
            f"{escape('evidence_fingerprint')}: {code(report['evidence_fingerprint'])}"]
    return "\n".join(out) + "\n"
