"""Slack Block Kit: a message of at most 50 blocks whose section texts stay within 3,000
characters; whatever a section cannot hold is counted as left out, never dropped silently."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.triage.render import phrases
from server.triage.render.outline import Line, Section, outline

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_FALLBACK_TEXT = 3000


def escape(text: str) -> str:
    """Slack's three control characters, escaped as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _line(line: Line, section: Section, n: int) -> str:
    bullet = f"{n}." if section.numbered else "•"
    text = escape(line.text)
    if line.link and not any(c in line.link for c in "<>| "):
        text += f" <{line.link}|link>"
    if line.evidence and section.key != "evidence":
        text += " " + ", ".join(f"`{escape(e)}`" for e in line.evidence)
    return f"{bullet} {text}"


def _left_out_note(n: int, what: str) -> str:
    return f"_{phrases.left_out_line(n, what)}_"


def fit(head: str, lines: list[str], left_out: int, what: str, limit: int = MAX_SECTION_TEXT) -> str:
    """`head` and as many whole lines as fit in `limit` characters, then a note counting the
    lines that did not fit plus `left_out` items cut before rendering."""
    head = _clip(head, limit // 2)
    # Room for the note at its longest, so that it always fits after the kept lines.
    room = len(_left_out_note(len(lines) + left_out, what)) + 1
    kept: list[str] = []
    size = len(head)
    for line in lines:
        line = _clip(line, limit // 2)
        if size + 1 + len(line) + room > limit:
            break
        kept.append(line)
        size += 1 + len(line)
    dropped = len(lines) - len(kept) + left_out
    return "\n".join([head, *kept] + ([_left_out_note(dropped, what)] if dropped else []))


def _section_block(section: Section) -> dict[str, Any]:
    head = f"*{escape(section.title)}*" + (f"\n_{escape(section.note)}_" if section.note else "")
    lines = [_line(line, section, n) for n, line in enumerate(section.lines, 1)]
    return {"type": "section", "text": {"type": "mrkdwn",
                                        "text": fit(head, lines, section.left_out, section.left_out_what)}}


def render(report: Mapping[str, Any]) -> dict[str, Any]:
    """`{"text": fallback, "blocks": [...]}` for chat.postMessage or an incoming webhook."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(phrases.headline(report), MAX_HEADER_TEXT)}},
    ]
    sections = outline(report)
    # Leave room for the context block; extra sections (never expected) fold into the last.
    blocks += [_section_block(s) for s in sections[:MAX_BLOCKS - 2]]
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"report_hash `{report['report_hash']}`"},
        {"type": "mrkdwn", "text": f"evidence_fingerprint `{report['evidence_fingerprint']}`"},
    ]})
    return {"text": _clip(escape(report["summary"]), MAX_FALLBACK_TEXT), "blocks": blocks}
