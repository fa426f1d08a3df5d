"""`make screenshots`: a real `onset serve`, a demo-like failure crafted over HTTP, and PNGs of
the dashboard's incident list and incident page in docs/images/.

The scene: steady traffic through gateway → checkout → payment → card-processor; an earlier
search incident that has resolved; a deploy of checkout; an alert on payment; then payment's
calls to card-processor time out and keep timing out while the pictures are taken.

    python -m tests.browser.screenshots [--out docs/images]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser import chromium
from tests.browser.scene import active_incidents, card_processor_timeouts
from tests.support.live import ADMIN_KEY, ROOT, LiveServer
from tests.support.live import wait_until as wait_for
from tests.support.triage_traffic import HealthyTraffic

RESOLVE_AFTER = 6


def search_outage(server: LiveServer) -> None:
    """A short burst of search errors: an incident that opens, recovers and resolves."""
    now = time.time()
    events = [{"service": "search", "step": "GET /search", "ts": now + i * 0.05, "status": "error",
               "error_code": "E503", "trace_id": f"s{i:03d}", "span_id": f"s{i:03d}-a", "user_id": f"u{i % 4}"}
              for i in range(10)]
    assert server.post("/v1/events", events).status_code == 200


def context_signals(server: LiveServer) -> None:
    now = time.time()
    assert server.post("/v1/deploys", {"service": "checkout", "version": "2.14.0", "ts": now - 95,
                                       "commit": "9f1c2ab3d4e5f607", "author": "alice",
                                       "pr_url": "https://git.example.com/shop/checkout/pull/812"}).status_code == 200
    assert server.post("/v1/alerts/onset", {
        "name": "CardProcessorTimeouts", "service": "payment", "env": "production", "severity": "critical",
        "summary": "payment → card-processor p95 above 2 s",
        "description": "Authorizations to card-processor time out; checkout conversions are dropping.",
        "runbook_url": "https://runbooks.example.com/payment/card-processor",
        "links": {"dashboard": "https://grafana.example.com/d/payments", "silence": "https://alerts.example.com/silence/new"},
    }).status_code == 200


class OngoingFailure:
    """Timeouts to card-processor every half second until the block ends."""

    def __init__(self, server: LiveServer):
        self.server, self.stop, self.round = server, threading.Event(), 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            card_processor_timeouts(self.server, n=6, prefix=f"f{self.round:02d}x")
            self.round += 1
            self.stop.wait(0.5)

    def __enter__(self) -> OngoingFailure:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


def shoot(server: LiveServer, incident_id: str, out: Path, every_page: bool) -> list[Path]:
    saved = []
    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900},
                                      device_scale_factor=1, color_scheme="light")
        page = context.new_page()
        page.goto("/ui/sign-in")
        page.get_by_label("API key").fill(ADMIN_KEY)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(f"#link-{incident_id}")).to_be_visible(timeout=10_000)
        page.wait_for_timeout(3_500)  # one self-refresh, so the picture shows the list as it polls
        saved.append(out / "dashboard-incidents.png")
        page.screenshot(path=str(saved[-1]), full_page=True)

        page.goto(f"/ui/incidents/{incident_id}")
        page.get_by_role("button", name="Copy report").focus()
        saved.append(out / "dashboard-incident.png")
        page.screenshot(path=str(saved[-1]), full_page=True)

        narrow = browser.new_context(base_url=server.url, viewport={"width": 420, "height": 900},
                                     storage_state=context.storage_state())
        small = narrow.new_page()
        small.goto("/ui/")
        expect(small.locator(f"#link-{incident_id}")).to_be_visible()
        saved.append(out / "dashboard-incidents-narrow.png")
        small.screenshot(path=str(saved[-1]), full_page=False)
        if every_page:  # for a look at the rest while working on the layout; not in the README
            page.goto(f"/ui/incidents/{incident_id}")
            page.locator("#where a.trace-link").first.click()
            for name, url in (("story", None), ("services", "/ui/services"), ("alerts", "/ui/alerts"),
                              ("changes", "/ui/changes")):
                if url:
                    page.goto(url)
                saved.append(out / f"dashboard-{name}.png")
                page.screenshot(path=str(saved[-1]), full_page=True)
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--every-page", action="store_true", help="also the story, services, alerts and changes")
    args = parser.parse_args(argv)
    problem = chromium.missing()
    if problem:
        print(f"make screenshots: {problem}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="onset-screenshots-"))
    server = LiveServer(workdir / "data", env={"ONSET_RESOLVE_AFTER_SECONDS": str(RESOLVE_AFTER)}).start()
    try:
        with HealthyTraffic(server):
            time.sleep(6.5)  # three quiet windows (2 s each): every family has a baseline
            search_outage(server)
            wait_for(lambda: server.get("/v1/incidents", state="resolved").json()["incidents"], 30,
                     "the search incident resolving")
            context_signals(server)
            with OngoingFailure(server):
                incident = wait_for(lambda: [i for i in active_incidents(server) if i["cause"] == "dependency"], 15,
                                    "the card-processor incident")[0]
                time.sleep(2)  # let the evidence catch up with the ongoing failure
                for path in shoot(server, incident["id"], args.out, args.every_page):
                    print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
