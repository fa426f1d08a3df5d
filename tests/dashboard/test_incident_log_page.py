"""The incident log on the dashboard: the timeline under the incident (newest last, polled like the
list), its CSRF-protected forms for respond keys only, follow-ups with overdue ones flagged,
artifacts downloaded as attachments, who is on it, the owner and the runbook."""

from __future__ import annotations

import io
import re
import time

import pytest

from server.store import catalog
from tests.dashboard.conftest import csrf_of, sign_in_with


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def responder(client, make_key):
    assert sign_in_with(client, make_key("respond", name="alice")).status_code == 303
    return client


def section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start:page.index("</section>", start)]


def post(client, url: str, **form) -> object:
    return client.post(url, data={"csrf_token": csrf_of(client), **form})


def test_entries_added_through_the_form_show_newest_last_with_their_authors(responder, incident):
    url = f"/ui/incidents/{incident.incident_id}/timeline"
    for form in ({"kind": "acknowledge"}, {"kind": "assign", "to": "bob"}, {"kind": "note", "body": "card <b>502</b>"},
                 {"kind": "severity", "severity": "P2", "body": "cards only"}):
        response = post(responder, url, **form)
        assert response.status_code == 303 and response.headers["Location"].endswith("#timeline")
    page = text_of(responder.get(f"/ui/incidents/{incident.incident_id}"))
    timeline = section(page, "timeline")
    rows = re.findall(r'<span class="tl-who">([^<]+)</span>\s*<span class="tl-kind">([^<]+)</span>', timeline)
    assert rows[0] == ("onset", "status")
    assert rows[-4:] == [("alice", "acknowledge"), ("alice", "assign"), ("alice", "note"), ("alice", "severity")]
    assert "card &lt;b&gt;502&lt;/b&gt;" in timeline and "<b>502</b>" not in timeline
    response_facts = page[page.index('id="response"'):]
    assert 'id="acknowledged-by">alice' in response_facts and 'id="assignee">bob' in response_facts
    assert "severity-p2" in response_facts


def test_the_timeline_refreshes_itself_like_the_list(responder, incident):
    page = text_of(responder.get(f"/ui/incidents/{incident.incident_id}"))
    fragment_url = f"/ui/incidents/{incident.incident_id}/timeline"
    assert f'hx-get="{fragment_url}"' in page and 'hx-trigger="every 3s"' in page
    post(responder, fragment_url, kind="note", body="new since the page loaded")
    fragment = text_of(responder.get(fragment_url, headers={"HX-Request": "true"}))
    assert "new since the page loaded" in fragment and "<html" not in fragment


def test_a_form_without_the_csrf_token_is_refused(responder, incident):
    response = responder.post(f"/ui/incidents/{incident.incident_id}/timeline", data={"kind": "note", "body": "x"})
    assert response.status_code == 403
    assert "x" not in [e for e in re.findall(r'tl-body">([^<]*)<', text_of(
        responder.get(f"/ui/incidents/{incident.incident_id}/timeline")))]


def test_a_read_key_sees_no_form_and_cannot_write(ui, incident):
    page = text_of(ui.get(f"/ui/incidents/{incident.incident_id}"))
    assert 'id="timeline-form"' not in page and "needs a respond key" in page
    response = post(ui, f"/ui/incidents/{incident.incident_id}/timeline", kind="note", body="sneaky")
    assert response.status_code == 403
    assert "sneaky" not in text_of(ui.get(f"/ui/incidents/{incident.incident_id}/timeline"))


def test_a_manual_resolve_shows_as_requested_until_the_engine_applies_it(responder, incident):
    post(responder, f"/ui/incidents/{incident.incident_id}/timeline", kind="resolve", reason="rolled back")
    page = text_of(responder.get(f"/ui/incidents/{incident.incident_id}"))
    assert "Resolve requested by alice: the engine applies it at its next tick." in page


def test_overdue_followups_are_flagged_on_the_incident_and_the_list(responder, incident):
    post(responder, f"/ui/incidents/{incident.incident_id}/followups", title="add retries", owner="bob",
         due="2020-01-01")
    post(responder, f"/ui/incidents/{incident.incident_id}/followups", title="write a runbook", due="2999-01-01")
    followups = section(text_of(responder.get(f"/ui/incidents/{incident.incident_id}")), "followups")
    assert followups.count('class="followup overdue"') == 1 and "add retries" in followups
    listing = text_of(responder.get("/ui/incidents/list"))
    assert 'id="overdue-followups"' in listing and "add retries" in listing and "write a runbook" not in listing
    assert "1 overdue follow-up" in listing


def test_an_artifact_uploaded_on_the_page_downloads_as_an_attachment(responder, incident):
    response = responder.post(f"/ui/incidents/{incident.incident_id}/artifacts", content_type="multipart/form-data",
                              data={"csrf_token": csrf_of(responder),
                                    "file": (io.BytesIO(b"<script>alert(1)</script>"), "excerpt.txt")})
    assert response.status_code == 303
    artifacts = section(text_of(responder.get(f"/ui/incidents/{incident.incident_id}")), "artifacts")
    link = re.search(r'href="(/ui/incidents/[^"]+/artifacts/art_[0-9a-f]+)"', artifacts).group(1)
    download = responder.get(link)
    assert download.data == b"<script>alert(1)</script>"
    assert download.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_an_upload_over_the_limit_is_refused_before_it_is_parsed(responder, incident):
    response = responder.post(f"/ui/incidents/{incident.incident_id}/artifacts", content_type="multipart/form-data",
                              data={"csrf_token": csrf_of(responder),
                                    "file": (io.BytesIO(b"a" * (3 * 1024 * 1024)), "big.txt")})
    assert response.status_code == 413


def test_the_owner_and_the_runbook_link_show_under_the_incident(responder, incident):
    catalog.put_service("payment", "payments", "https://wiki.example.com/payment", "#payments", "admin", time.time())
    page = text_of(responder.get(f"/ui/incidents/{incident.incident_id}"))
    owner = page[page.index('id="owner"'):]
    assert owner.startswith('id="owner">payments · #payments · <a id="runbook" href="https://wiki.example.com/payment"')


def test_a_stored_runbook_that_is_not_http_never_becomes_a_link(responder, incident):
    catalog.put_service("payment", "payments", "javascript:alert(1)", None, "admin", time.time())
    page = text_of(responder.get(f"/ui/incidents/{incident.incident_id}"))
    assert 'id="runbook"' not in page and "javascript:" not in page


def test_the_postmortem_draft_page(responder, incident):
    page = text_of(responder.get(f"/ui/incidents/{incident.incident_id}/postmortem"))
    assert "# Postmortem: payment POST /charge upstream\\_timeout" in page
