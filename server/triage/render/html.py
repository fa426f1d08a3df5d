"""An HTML fragment for the dashboard. Every text is escaped; only http(s) URLs become links."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from server.triage.render import phrases
from server.triage.render.outline import Line, Section, outline

MAX_EVIDENCE_LINES = 200


def _line(line: Line, section: Section) -> str:
    text = escape(line.text)
    if line.link:  # outline only sets http(s) links
        text += f' <a href="{escape(line.link, quote=True)}" rel="noopener noreferrer">link</a>'
    if line.evidence and section.key != "evidence":
        ids = " ".join(f"<code>{escape(e)}</code>" for e in line.evidence)
        text += f' <span class="onset-evidence">{ids}</span>'
    return f"<li>{text}</li>"


def _section(section: Section) -> str:
    tag = "ol" if section.numbered else "ul"
    shown, left_out = section.lines, section.left_out
    if section.key == "evidence" and len(shown) > MAX_EVIDENCE_LINES:
        shown, left_out = shown[:MAX_EVIDENCE_LINES], left_out + len(shown) - MAX_EVIDENCE_LINES
    parts = [f'<section class="onset-{escape(section.key.replace("_", "-"), quote=True)}">',
             f"<h3>{escape(section.title)}</h3>"]
    if section.note:
        parts.append(f'<p class="onset-status">{escape(section.note)}</p>')
    parts.append(f"<{tag}>" + "".join(_line(line, section) for line in shown) + f"</{tag}>")
    if left_out:
        parts.append(f'<p class="onset-left-out">{escape(phrases.left_out_line(left_out, section.left_out_what))}</p>')
    parts.append("</section>")
    return "".join(parts)


def render(report: Mapping[str, Any]) -> str:
    digest = escape(report["report_hash"], quote=True)
    parts = [f'<article class="onset-report" data-report-hash="{digest}">',
             f"<h2>{escape(phrases.headline(report))}</h2>"]
    parts += [_section(s) for s in outline(report)]
    parts.append('<footer class="onset-hashes">' + "<br>".join(f"<code>{escape(line)}</code>"
                                                               for line in phrases.hash_lines(report)) + "</footer>")
    parts.append("</article>")
    return "\n".join(parts) + "\n"
