"""Renderers: every format shows report_hash, escapes what it shows, and keeps to its limits."""

from __future__ import annotations

import re

import orjson
import pytest

from server.triage.render import FORMATS, html, markdown, pagerduty, render, slack, text
from server.triage.report import build_report
from tests.support.triage_state import ONSET, incident_state, signal_record

HOSTILE = signal_record("sig_evil", "deploy", "payment", ONSET - 60, reason="<script>alert(1)</script>",
                        version="1.0 <b>", pr_url="javascript:alert(1)", author="<img src=x onerror=alert(1)>")


def report_of(**overrides) -> dict:
    incident = incident_state(**overrides)
    return build_report(incident, incident["snapshots"], generator="onset test")


def big_report(n: int = 500) -> dict:
    """A report with `n` evidence items (and long texts) beyond what snapshots usually hold."""
    report = report_of()
    report["evidence"] = report["evidence"] + [
        {"kind": "trace", "id": f"trace:{i:032x}", "summary": f"failing request number {i} " + "x" * 60,
         "time": "2023-11-14T22:13:25.000Z", "source": "events"} for i in range(n - len(report["evidence"]))]
    report["next_checks"] = report["next_checks"] + [
        {"text": "check " + "y" * 400, "evidence": [f"trace:{i:032x}"]} for i in range(40)]
    return report


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_shows_the_report_hash(fmt):
    report = report_of()
    body, content_type = render(report, fmt)
    assert report["report_hash"] in body.decode()
    assert content_type == FORMATS[fmt][0]


def test_slack_with_500_evidence_items_stays_within_limits_and_counts_what_it_left_out():
    report = big_report(500)
    message = slack.render(report)
    blocks = message["blocks"]
    assert len(blocks) <= slack.MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= slack.MAX_HEADER_TEXT
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= slack.MAX_SECTION_TEXT
    evidence = next(b["text"]["text"] for b in blocks if b["type"] == "section"
                    and b["text"]["text"].startswith("*Evidence (500 items)*"))
    shown = sum(1 for line in evidence.splitlines() if line.startswith("• "))
    left_out = int(re.search(r"… (\d+) more evidence items left out", evidence).group(1))
    assert shown + left_out == 500 and shown > 0
    checks = next(b["text"]["text"] for b in blocks if b["type"] == "section"
                  and b["text"]["text"].startswith("*Next checks*"))
    assert "more items left out" in checks
    assert report["report_hash"] in orjson.dumps(message).decode()


def test_slack_fit_keeps_whole_lines_and_counts_earlier_cuts():
    lines = [f"• line {i}" for i in range(10)]
    assert slack.fit("*T*", lines, 0, "items") == "*T*\n" + "\n".join(lines)
    assert slack.fit("*T*", lines, 3, "changes").endswith("_… 3 more changes left out_")
    cut = slack.fit("*T*", lines, 0, "items", limit=60)
    assert len(cut) <= 60 and cut.endswith("more items left out_")


def test_pagerduty_note_with_500_evidence_items_stays_within_its_limit():
    report = big_report(500)
    note = pagerduty.render(report)
    assert len(note) <= pagerduty.NOTE_LIMIT
    assert note.splitlines()[1] == f"report_hash {report['report_hash']}"
    left_out = int(re.search(r"… (\d+) more evidence items left out", note).group(1))
    assert left_out == 500 - pagerduty.MAX_EVIDENCE_LINES


def test_text_lists_100_evidence_lines_and_counts_the_rest():
    out = text.render(big_report(500))
    assert "… 400 more evidence items left out" in out


def test_html_escapes_everything_and_links_only_http():
    report = report_of(changes=[HOSTILE])
    out = html.render(report)
    assert "<script>" not in out and "<img" not in out and "<b>" not in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out and "1.0 &lt;b&gt;" in out
    assert 'href="javascript' not in out
    safe = report_of(changes=[signal_record("sig_ok", "deploy", "payment", ONSET - 60, version="2",
                                            pr_url="https://github.com/shop/payment/pull/9?a=1&b=2")])
    assert 'href="https://github.com/shop/payment/pull/9?a=1&amp;b=2"' in html.render(safe)


def test_markdown_escapes_markup_and_links_only_http():
    out = markdown.render(report_of(changes=[HOSTILE]))
    assert re.search(r"(?<!\\)<img", out) is None and "\\<img" in out
    assert "](<javascript" not in out


def test_slack_escapes_its_control_characters():
    message = slack.render(report_of(changes=[HOSTILE]))
    texts = " ".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")
    assert "<img" not in texts and "&lt;img" in texts
    assert "<javascript" not in texts


def test_sections_that_were_not_captured_say_so_in_every_format():
    incident = {**incident_state(), "snapshots": {}}
    report = build_report(incident, {}, generator="onset test")
    for fmt in FORMATS:
        body = render(report, fmt)[0].decode()
        assert "stored before Onset captured" in body, fmt
