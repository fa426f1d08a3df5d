"""The incident list: open first, resolved paged, filters kept by the self-refresh, and
empty and error states that are never blank."""

from __future__ import annotations

import re

from server.store import db
from tests.dashboard.conftest import tick_now
from tests.support.triage_traffic import T0


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_empty_state_names_the_last_engine_tick(ui):
    tick_now()
    page = text_of(ui.get("/ui/"))
    assert "No active incidents" in page
    assert re.search(r"last engine tick \d+ s ago", page)
    assert "status-bad" not in page


def test_engine_that_never_ticked_is_shown_in_red(ui):
    page = text_of(ui.get("/ui/"))
    assert 'class="status-bad"' in page
    assert "Engine trouble: the engine has not ticked yet" in page
    assert "No active incidents — the engine has not ticked yet" in " ".join(page.split())


def test_stale_engine_is_shown_in_red(ui):
    tick_now(now=1_000.0)
    fragment = text_of(ui.get("/ui/incidents/list", headers={"HX-Request": "true"}))
    assert "Engine trouble: no tick for" in fragment
    assert 'class="status-bad"' in fragment


def test_open_incident_shows_state_cause_origin_onset_and_impact(ui, incident):
    page = text_of(ui.get("/ui/"))
    row = page[page.index('class="incident state-active"'):]
    row = row[:row.index("</li>")]
    assert "payment POST /charge → card-processor" in row
    assert "cause <strong>dependency</strong>" in row and "high confidence" in row
    assert "36 of 36 requests failed (100.0%)" in row and "6 users" in row
    assert "started " in row and " ago" in row
    assert f'href="/ui/incidents/{incident.incident_id}"' in row


def test_list_polls_its_fragment_with_the_same_filters(ui, incident):
    page = text_of(ui.get("/ui/?service=payment&cause=dependency&state=active&env=production"))
    poller = re.search(r'<div id="incident-list" hx-get="([^"]+)"\s+hx-trigger="every 3s" hx-target="this"'
                       r' hx-swap="innerHTML">', page)
    assert poller, page
    url = poller[1].replace("&amp;", "&")
    assert url == "/ui/incidents/list?service=payment&env=production&cause=dependency&state=active"
    fragment = text_of(ui.get(url, headers={"HX-Request": "true"}))
    assert incident.incident_id in fragment
    assert "<html" not in fragment  # a fragment, not a page


def test_filters_narrow_the_list(ui, incident):
    for query in ("service=payment", "service=gateway", "env=production", "cause=dependency", "state=active"):
        assert incident.incident_id in text_of(ui.get(f"/ui/incidents/list?{query}")), query
    for query in ("service=search", "env=staging", "cause=deploy", "state=resolved"):
        fragment = text_of(ui.get(f"/ui/incidents/list?{query}"))
        assert incident.incident_id not in fragment, query
    assert "No open incidents match these filters" in text_of(ui.get("/ui/incidents/list?service=search"))


def test_filter_form_offers_the_services_and_envs_incidents_have(ui, incident):
    page = text_of(ui.get("/ui/"))
    for value in ("payment", "checkout", "gateway", "production"):
        assert f'<option value="{value}"' in page


def test_unknown_filter_values_are_ignored_not_errors(ui, incident):
    response = ui.get("/ui/?state=exploded&cause=gremlins&page=-3")
    assert response.status_code == 200
    assert incident.incident_id in text_of(response)


def test_resolved_incidents_are_listed_below_and_paged(ui, incident):
    with db.write_transaction():
        for n in range(25):
            db.execute("INSERT INTO incidents (id, state, service, env, step, error_code, onset, opened_at, updated_at,"
                       " resolved_at, cause, confidence, analysis) VALUES (?, 'resolved', 'search', 'production',"
                       " 'GET /q', 'E500', ?, ?, ?, ?, 'app', 'medium', '{}')",
                       (f"inc_old_{n:02d}", T0 - 10_000 + n, T0 - 10_000 + n, T0, T0 - 9_000 + n))
    page = text_of(ui.get("/ui/"))
    assert page.index(incident.incident_id) < page.index("inc_old_24")
    assert 'Resolved <span class="count">25</span>' in page
    assert "page 1 of 2" in page and "inc_old_05" in page and "inc_old_04" not in page
    assert "/ui/?page=2" in page
    second = text_of(ui.get("/ui/?page=2"))
    assert "inc_old_04" in second and "inc_old_05" not in second
    assert incident.incident_id in second  # open incidents stay on every page
    polled = re.search(r'hx-get="([^"]+)"', second)[1]
    assert polled == "/ui/incidents/list?page=2"
    assert "impact not captured yet" in second  # stored without a blast snapshot


def test_database_trouble_is_shown_in_red_on_page_and_fragment(ui, store):
    # A real database error, not a mock: the table the list reads is gone.
    db.execute("DROP TABLE incidents CASCADE" if db.is_postgres() else "DROP TABLE incidents")
    page = ui.get("/ui/")
    assert page.status_code == 503
    assert 'class="trouble"' in text_of(page) and "Database trouble" in text_of(page)
    fragment = ui.get("/ui/incidents/list", headers={"HX-Request": "true"})
    assert fragment.status_code == 503
    body = text_of(fragment)
    assert "Database trouble" in body and 'role="alert"' in body and "<html" not in body


def test_the_htmx_config_swaps_a_503_so_the_red_state_replaces_the_list(ui):
    page = text_of(ui.get("/ui/"))
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', page)[1]
    assert '{"code": "503", "swap": true, "error": true}' in config
    assert '"allowEval": false' in config and '"includeIndicatorStyles": false' in config
