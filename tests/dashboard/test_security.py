"""Every dashboard route is guarded; headers forbid inline script and framing; what senders
wrote (alert annotations, signal messages, service names) is shown as text; only http(s)
URLs become links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboard.blueprint import CSP, HTMX
from dashboard.present import http_url

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
# Reachable without a session on purpose: the sign-in page itself, and the CSS and scripts it needs.
PUBLIC = {"dashboard.sign_in_page", "dashboard.static"}
# The incident log's forms write: they need a respond key (tests/dashboard/test_incident_log_page.py).
WRITES = {"dashboard.post_timeline_entry": "respond", "dashboard.post_followup": "respond",
          "dashboard.upload_artifact": "respond"}
XSS_SCRIPT = "<script>window.__xss = 1</script>"
XSS_IMG = "<img src=x onerror=\"window.__xss = 2\">"


def dashboard_routes(app) -> list[tuple[str, str, str]]:
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("dashboard.") and rule.endpoint not in PUBLIC:
            url = adapter.build(rule.endpoint, {name: "x" for name in rule.arguments})
            found += [(method, url, rule.endpoint) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_every_dashboard_route_needs_a_session(app, client):
    routes = dashboard_routes(app)
    assert {url for _, url, _ in routes} >= {"/ui/", "/ui/incidents/list", "/ui/incidents/x", "/ui/traces/x",
                                             "/ui/services", "/ui/alerts", "/ui/changes", "/ui/sign-out"}
    client.get("/ui/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ui/sign-in").get_data(as_text=True))[1]
    for method, url, endpoint in routes:
        assert app.view_functions[endpoint].required_scope == WRITES.get(endpoint, "read"), endpoint
        response = client.open(url, method=method, headers={"X-CSRF-Token": token})
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.headers["Location"].startswith("/ui/sign-in"), (method, url)


def test_pages_forbid_inline_script_and_framing(ui):
    for url in ("/ui/", "/ui/incidents/list", "/ui/services", "/ui/sign-in", "/ui/static/onset.css",
                f"/ui/static/{HTMX}"):
        response = ui.get(url)
        assert response.headers["Content-Security-Policy"] == CSP, url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert "frame-ancestors 'none'" in CSP


def test_pages_are_not_cached_but_static_files_may_be(ui):
    assert ui.get("/ui/").headers["Cache-Control"] == "no-store"
    assert "no-store" not in ui.get("/ui/static/onset.css").headers.get("Cache-Control", "")


def test_templates_hold_no_inline_script_style_or_handlers():
    for template in (DASHBOARD / "templates").glob("*"):
        text = template.read_text()
        assert template.suffix == ".html", f"{template.name}: only .html templates are autoescaped"
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert "style=" not in text and "<style" not in text, template.name
        assert "|safe" not in text and "Markup(" not in text, template.name


def test_htmx_is_vendored_with_its_version_in_the_file_name():
    version = re.fullmatch(r"htmx-(\d+\.\d+\.\d+)\.min\.js", HTMX)[1]
    text = (DASHBOARD / "static" / HTMX).read_text()
    assert f'version:"{version}"' in text
    assert version.startswith("2.0.")


def test_static_files_need_no_session(client):
    assert client.get(f"/ui/static/{HTMX}").status_code == 200
    assert client.get("/ui/static/dashboard.js").status_code == 200


@pytest.fixture
def hostile_alert(client, auth):
    response = client.post("/v1/alerts/onset", headers=auth("ingest"), json={
        "name": XSS_SCRIPT, "service": "pay<b>ment</b>", "severity": "critical", "summary": XSS_IMG,
        "description": "click <a href=\"javascript:alert(1)\">here</a>",
        "labels": {"team": XSS_SCRIPT},
    })
    assert response.status_code == 200, response.get_data(as_text=True)


def test_alert_annotations_render_as_text(ui, hostile_alert):
    page = ui.get("/ui/alerts").get_data(as_text=True)
    assert XSS_SCRIPT not in page and XSS_IMG not in page
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&#34;window.__xss = 2&#34;&gt;" in page
    assert "pay&lt;b&gt;ment&lt;/b&gt;" in page
    assert 'href="javascript:' not in page


def test_signal_message_renders_as_text_and_only_http_links(ui, client, auth):
    response = client.post("/v1/signals", headers=auth("ingest"), json={
        "type": "config", "service": "check<script>out", "reason": XSS_IMG, "message": XSS_SCRIPT,
        "attributes": {"pr_url": "javascript:alert(1)"},
    })
    assert response.status_code == 200, response.get_data(as_text=True)
    response = client.post("/v1/deploys", headers=auth("ingest"), json={
        "service": "payment", "version": "1.2.3", "pr_url": "https://git.example.com/pr/7"})
    assert response.status_code == 200, response.get_data(as_text=True)
    page = ui.get("/ui/changes").get_data(as_text=True)
    assert XSS_SCRIPT not in page and XSS_IMG not in page
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in page
    assert "javascript:" not in page
    assert 'href="https://git.example.com/pr/7"' in page


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", " javascript:x", "data:text/html,x",
                                 "/relative", "vbscript:x", None, 7])
def test_only_http_urls_become_links(url):
    assert http_url(url) is None


def test_http_and_https_urls_become_links():
    assert http_url("https://runbooks.example.com/a?b=c") == "https://runbooks.example.com/a?b=c"
    assert http_url("HTTP://grafana.local/d/1") == "HTTP://grafana.local/d/1"
