"""One incident's page: every section of the report, the server-drawn path and chart, the
Markdown to copy (the same bytes and hash as the API), and the request story."""

from __future__ import annotations

import html
import re

import pytest

from server.store import alerts as alert_store
from server.store import db


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def page(ui, incident) -> str:
    response = ui.get(f"/ui/incidents/{incident.incident_id}")
    assert response.status_code == 200
    return text_of(response)


def section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start:page.index("</section>", start)]


def test_summary_cause_and_cited_reasons(page):
    assert "payment POST /charge → card-processor" in page
    assert "36 of 36 requests failed (100.0%)" in page
    cause = section(page, "cause")
    assert "Cause: dependency" in cause and "high confidence" in cause
    assert "the first failure is payment&#39;s call to card-processor" in cause
    assert 'href="/ui/traces/f000"' in cause  # a cited trace links to its story


def test_where_it_started_draws_the_causal_path(page):
    where = section(page, "where")
    nodes = re.findall(r'<li class="node([^"]*)">\s*<span class="node-service">([^<]+)</span>', where)
    assert [name for _, name in nodes] == ["gateway", "checkout", "payment", "card-processor"]
    assert all("node-failed" in classes for classes, _ in nodes)
    assert "node-origin" in nodes[-1][0] and "node-external" in nodes[-1][0]
    assert "the failure starts here" in where
    assert "12 of 12" in where


def test_sample_traces_link_to_the_request_story(ui, page):
    links = re.findall(r'<a class="trace-link" href="(/ui/traces/[^"]+)">', section(page, "where"))
    assert links[:2] == ["/ui/traces/f000", "/ui/traces/f001"]
    story = text_of(ui.get(links[0]))
    assert "gateway → checkout → payment ✗ card-processor (timeout)" in story
    assert "the failure starts here" in story
    assert story.count('class="span-failed') == 6


def test_how_bad_has_numbers_and_an_svg_chart_of_errors_around_the_onset(page):
    how = section(page, "how-bad")
    assert '<span class="tile-n">36</span>' in how and "6</span><span class=\"tile-l\">users affected" in how
    svg = how[how.index("<svg"):how.index("</svg>")]
    bars = re.findall(r'<rect class="bar (bar-before|bar-after)"', svg)
    assert "bar-before" in bars and "bar-after" in bars
    assert bars.index("bar-after") > 0  # quiet windows first, then the burst
    assert 'class="onset-line"' in svg
    assert ">12 errors in the window" in svg  # the burst: 12 failing requests of the first family


def test_what_changed_lists_the_deploy_with_its_link(page):
    changed = section(page, "changed")
    assert "deploy of checkout 2.1.0" in changed and "also suspect" in changed
    assert 'href="https://git.example.com/shop/pull/42"' in changed


def test_alerts_section_shows_attached_alerts_with_links(ui, incident, client, auth):
    response = client.post("/v1/alerts/onset", headers=auth("ingest"), json={
        "name": "CardProcessorTimeouts", "service": "payment", "severity": "critical", "summary": "timeouts to card-processor",
        "runbook_url": "https://runbooks.example.com/card", "links": {"dashboard": "https://grafana.example.com/d/1"}})
    assert response.status_code == 200, text_of(response)
    alert_id = alert_store.list_alerts()[0]["alert_id"]
    with db.write_transaction():
        db.execute("INSERT INTO incident_alerts (incident_id, alert_id, reason, attached_at) VALUES (?, ?, 'service', 1)",
                   (incident.incident_id, alert_id))
    alerts = section(text_of(ui.get(f"/ui/incidents/{incident.incident_id}")), "alerts")
    assert "CardProcessorTimeouts" in alerts and "timeouts to card-processor" in alerts
    assert 'href="https://runbooks.example.com/card"' in alerts and 'href="https://grafana.example.com/d/1"' in alerts
    assert "attached by service" in alerts


def test_no_alerts_says_so(page):
    assert "None attached." in section(page, "alerts")


def test_evidence_table_and_next_checks(page):
    evidence = section(page, "evidence")
    assert "family:payment/production/POST /charge/upstream_timeout" in evidence
    assert 'href="/ui/traces/f000"' in evidence
    checks = section(page, "next-checks")
    assert "Check card-processor" in html.unescape(checks)
    assert re.search(r'href="#ev-\d+"', page)  # cited non-trace evidence links into the table


def test_markdown_and_hash_are_the_same_as_the_api(client, auth, page, incident):
    headers = auth("read")
    api = client.get(f"/v1/triage/{incident.incident_id}", headers=headers).get_json()
    markdown = client.get(f"/v1/triage/{incident.incident_id}/report?format=markdown", headers=headers)
    shown = re.search(r'<pre id="report-markdown" class="markdown" tabindex="0">(.*?)</pre>', page, re.S)[1]
    assert html.unescape(shown) == markdown.get_data(as_text=True)
    assert f'<code id="report-hash">{api["report_hash"]}</code>' in page


def test_copy_button_points_at_the_markdown_and_a_visible_status(page):
    assert re.search(r'<button type="button" class="primary" id="copy-report" data-copy-from="report-markdown"'
                     r' data-copy-status="copy-status">Copy report</button>', page)
    assert '<span id="copy-status" class="copy-status" role="status" aria-live="polite"></span>' in page


def test_unknown_incident_is_a_404_page(ui):
    response = ui.get("/ui/incidents/inc_nothing_here")
    assert response.status_code == 404
    assert "No incident inc_nothing_here" in text_of(response)
    assert response.mimetype == "text/html"


def test_unknown_or_malformed_trace_is_a_404_page(ui, store):
    for trace_id in ("nothing", "bad%20id"):
        response = ui.get(f"/ui/traces/{trace_id}")
        assert response.status_code == 404
        assert "No stored event of trace" in text_of(response)
