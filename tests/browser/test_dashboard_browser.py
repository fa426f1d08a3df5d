"""The dashboard in a real headless Chromium against a real `onset serve`: sign in, watch an
incident appear without a reload, open it, copy its report, follow a trace to its story;
hostile alert text stays text; a POST without the CSRF token is refused."""

from __future__ import annotations

import re

import pytest

from tests.browser import chromium
from tests.browser.scene import active_incidents, card_processor_timeouts
from tests.support.live import ADMIN_KEY, LiveServer
from tests.support.live import wait_until as wait_for
from tests.support.triage_traffic import HealthyTraffic

pytestmark = pytest.mark.slow

if chromium.missing():
    if chromium.IN_CI:
        raise RuntimeError(f"browser tests cannot run in CI: {chromium.missing()}")
    pytest.skip(f"browser tests skipped: {chromium.missing()}", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402  (after the skip: may be missing)

XSS_SCRIPT = "<script>window.__xss = 1</script>"
XSS_IMG = '<img src=x onerror="window.__xss = 2">'


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Fast windows, but an incident stays open long enough to be looked at.
    live = LiveServer(tmp_path_factory.mktemp("browser") / "data", env={"ONSET_RESOLVE_AFTER_SECONDS": "120"}).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = chromium.launch(playwright)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server.url, viewport={"width": 1200, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def sign_in(page) -> None:
    page.goto("/ui/")
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    page.get_by_label("API key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()


def test_incident_appears_live_then_report_copies_and_trace_tells_its_story(page, server: LiveServer):
    sign_in(page)
    expect(page.locator("#engine-status")).to_contain_text("Engine ticking")
    # Set a mark on this document: a reload would lose it.
    page.evaluate("window.__stillTheSamePage = true")
    with HealthyTraffic(server):
        page.wait_for_timeout(6_500)  # three quiet windows (2 s each) give the family its baseline
        card_processor_timeouts(server)
        incident_id = wait_for(lambda: active_incidents(server), 10, "the engine opening an incident")[0]["id"]
        # The list polls every 3 s; the incident may already be recovering (2 s windows) when it shows.
        row = page.locator(".incident", has=page.locator(f"#link-{incident_id}"))
        expect(row).to_be_visible(timeout=8_000)
    assert page.evaluate("window.__stillTheSamePage") is True, "the list reloaded the page"
    expect(row).to_have_class(re.compile(r"state-(active|recovering)"))
    expect(row).to_contain_text("payment POST /charge → card-processor")
    expect(row).to_contain_text("cause dependency")

    page.locator(f"#link-{incident_id}").click()
    expect(page.get_by_role("heading", name="Where did it start?")).to_be_visible()
    expect(page.locator("ol.path .node-origin")).to_contain_text("card-processor")
    assert page.locator("svg.chart rect.bar-after").count() >= 1

    page.get_by_role("button", name="Copy report").click()
    expect(page.locator("#copy-status")).to_contain_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#report-markdown").text_content()
    assert page.locator("#report-hash").text_content() in copied

    page.locator("#where a.trace-link").first.click()
    expect(page.get_by_role("heading", name="Request story")).to_be_visible()
    expect(page.locator("table.story")).to_contain_text("the failure starts here")
    expect(page.locator(".story-summary")).to_contain_text("card-processor (timeout)")


def test_hostile_alert_text_renders_as_text_and_runs_nothing(page, server: LiveServer):
    response = server.post("/v1/alerts/onset", {"name": XSS_SCRIPT, "service": "payment", "summary": XSS_IMG,
                                                "description": XSS_SCRIPT})
    assert response.status_code == 200, response.text
    violations = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text
            else None)
    sign_in(page)
    page.goto("/ui/alerts")
    expect(page.locator(".alert-name").first).to_have_text(XSS_SCRIPT)
    expect(page.locator(".alert-summary").first).to_have_text(XSS_IMG)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert page.locator(".alerts img").count() == 0 and page.locator(".alerts script").count() == 0
    assert violations == [], violations  # nothing even tried to run inline


def test_post_without_the_csrf_token_is_refused(page, server: LiveServer):
    sign_in(page)
    without = page.evaluate("fetch('/ui/sign-out', {method: 'POST', redirect: 'manual'}).then(r => r.status)")
    assert without == 403
    page.reload()
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()  # still signed in
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    status = page.evaluate("t => fetch('/ui/sign-out', {method: 'POST', headers: {'X-CSRF-Token': t},"
                           " redirect: 'manual'}).then(r => r.type === 'opaqueredirect' ? 303 : r.status)", token)
    assert status == 303
    page.goto("/ui/")
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))


def test_a_server_that_stops_answering_turns_the_page_red_not_blank(browser, tmp_path):
    alone = LiveServer(tmp_path / "data").start()  # its own server: this test stops it
    try:
        context = browser.new_context(base_url=alone.url)
        page = context.new_page()
        sign_in(page)
        expect(page.locator("#connection-trouble")).to_be_hidden()
        alone.stop()
        banner = page.locator("#connection-trouble")
        # The next poll (every 3 s) fails; on a loaded 2-core CI machine a poll can run late.
        expect(banner).to_be_visible(timeout=20_000)
        expect(banner).to_contain_text("Lost contact with the Onset server")
        expect(page.get_by_role("heading", name="Open")).to_be_visible()  # the last list stays up
        context.close()
    finally:
        alone.stop()
