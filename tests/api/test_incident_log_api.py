"""The incident log's REST routes (SQLite and PostgreSQL): the timeline contract, people's actions,
declare, the catalog, follow-ups and the gate, artifacts, postmortem, similar incidents and
digests. Roles: read sees, respond writes, admin manages the catalog."""

from __future__ import annotations

import hashlib
import io
import json
import tracemalloc
from pathlib import Path

import jsonschema
import pytest

from server.engine.tick import Engine
from server.incidentlog.digest import week_of
from tests.support.error_shape import assert_error_shape
from tests.support.triage_traffic import T0, Fault, play, tick_until

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "triage.v1.schema.json").read_text())
MB = 1024 * 1024


@pytest.fixture
def incident(store) -> str:
    return play(store, Engine(store, "test-engine"), Fault(processor="http_502")).incident_id


@pytest.fixture
def keys(make_key) -> dict[str, dict[str, str]]:
    return {scope: {"Authorization": f"Bearer {make_key(scope, name=f'{scope}-person')}"}
            for scope in ("read", "respond", "admin")}


def entries(client, incident_id: str, headers) -> list[dict]:
    response = client.get(f"/v1/incidents/{incident_id}/timeline", headers=headers)
    assert response.status_code == 200
    return response.get_json()["entries"]


# -- the timeline contract -------------------------------------------------------------------
def test_a_note_is_201_with_the_entry_and_the_timeline_lists_it_oldest_first(client, incident, keys):
    response = client.post(f"/v1/incidents/{incident}/timeline", json={"kind": "note", "body": "looking at it"},
                           headers=keys["respond"])
    assert response.status_code == 201
    entry = response.get_json()
    assert {"id", "kind", "author", "ts", "body"} <= set(entry)
    assert (entry["kind"], entry["author"], entry["body"], entry["source"]) == \
        ("note", "respond-person", "looking at it", "person")
    listed = entries(client, incident, keys["read"])
    assert listed[-1] == entry
    assert [e["ts"] for e in listed] == sorted(e["ts"] for e in listed)
    assert listed[0]["kind"] == "status" and listed[0]["author"] == "onset"  # opened, derived from the state history


def test_the_author_is_the_keys_name_unless_given(client, incident, keys):
    response = client.post(f"/v1/incidents/{incident}/timeline",
                           json={"kind": "note", "body": "summary posted", "author": "claude (agent)"},
                           headers=keys["respond"])
    assert response.get_json()["author"] == "claude (agent)"


def test_ack_assign_severity_show_on_the_incident_and_the_report(client, incident, keys):
    for body in ({"kind": "acknowledge"}, {"kind": "assign", "to": "bob"},
                 {"kind": "severity", "severity": "P2", "body": "card payments only"}):
        assert client.post(f"/v1/incidents/{incident}/timeline", json=body, headers=keys["respond"]).status_code == 201
    inc = client.get(f"/v1/incidents/{incident}", headers=keys["read"]).get_json()
    assert (inc["acknowledged_by"], inc["assignee"], inc["severity"], inc["severity_source"]) == \
        ("respond-person", "bob", "P2", "manual")
    report = client.get(f"/v1/triage/{incident}", headers=keys["read"]).get_json()
    jsonschema.validate(report, SCHEMA)
    assert report["severity"] == {"level": "P2", "source": "manual", "reason": "card payments only",
                                  "set_by": "respond-person"}
    assert report["response"]["acknowledged_by"] == "respond-person" and report["response"]["assignee"] == "bob"
    text = client.get(f"/v1/triage/{incident}/report?format=text", headers=keys["read"]).get_data(as_text=True)
    assert "acknowledged by respond-person" in text and "assigned to bob" in text
    slack = client.get(f"/v1/triage/{incident}/report?format=slack", headers=keys["read"]).get_data(as_text=True)
    assert "acknowledged by respond-person" in slack and "assigned to bob" in slack and " P2:" in slack


def test_an_acknowledgement_changes_the_report_hash(client, incident, keys):
    before = client.get(f"/v1/triage/{incident}", headers=keys["read"]).get_json()["report_hash"]
    client.post(f"/v1/incidents/{incident}/timeline", json={"kind": "acknowledge"}, headers=keys["respond"])
    after = client.get(f"/v1/triage/{incident}", headers=keys["read"]).get_json()["report_hash"]
    assert before != after


def test_resolving_twice_is_a_conflict_and_a_pending_resolve_shows(client, incident, keys):
    url = f"/v1/incidents/{incident}/timeline"
    assert client.post(url, json={"kind": "resolve", "reason": "fixed"}, headers=keys["respond"]).status_code == 201
    assert_error_shape(client.post(url, json={"kind": "resolve", "reason": "again"}, headers=keys["respond"]), 409)
    inc = client.get(f"/v1/incidents/{incident}", headers=keys["read"]).get_json()
    assert inc["state"] == "active" and inc["manual_state"] == "resolved"
    # A reopen takes a pending resolve back.
    assert client.post(url, json={"kind": "reopen"}, headers=keys["respond"]).status_code == 201


def test_bad_entries_and_unknown_incidents(client, incident, keys):
    url = f"/v1/incidents/{incident}/timeline"
    assert_error_shape(client.post(url, json={"kind": "assign"}, headers=keys["respond"]), 400, "to")
    assert_error_shape(client.post(url, json={"kind": "follow-up"}, headers=keys["respond"]), 400, "kind")
    assert_error_shape(client.post("/v1/incidents/inc_nope/timeline", json={"kind": "note", "body": "x"},
                                   headers=keys["respond"]), 404)
    assert_error_shape(client.get("/v1/incidents/inc_nope/timeline", headers=keys["read"]), 404)


# -- roles -----------------------------------------------------------------------------------
def writes(incident: str) -> list[tuple[str, str, dict]]:
    """One request of every write a respond key may make (method, url, keyword arguments)."""
    return [
        ("POST", f"/v1/incidents/{incident}/timeline", {"json": {"kind": "note", "body": "n"}}),
        ("POST", f"/v1/incidents/{incident}/timeline", {"json": {"kind": "acknowledge"}}),
        ("POST", f"/v1/incidents/{incident}/timeline", {"json": {"kind": "assign", "to": "bob"}}),
        ("POST", f"/v1/incidents/{incident}/timeline", {"json": {"kind": "severity", "severity": "P2"}}),
        ("POST", f"/v1/incidents/{incident}/followups", {"json": {"title": "add retries", "due": "2030-01-01"}}),
        ("POST", f"/v1/incidents/{incident}/artifacts?name=a.txt", {"data": b"text", "content_type": "text/plain"}),
        ("POST", "/v1/incidents", {"json": {"service": "payment", "title": "customer report"}}),
        ("POST", f"/v1/incidents/{incident}/timeline", {"json": {"kind": "resolve", "reason": "fixed"}}),
    ]


def test_a_read_key_is_refused_every_write_and_a_respond_key_is_allowed(client, incident, keys):
    for method, url, kwargs in writes(incident):
        assert_error_shape(client.open(url, method=method, headers=keys["read"], **kwargs), 403, "scope")
    for method, url, kwargs in writes(incident):
        response = client.open(url, method=method, headers=keys["respond"], **kwargs)
        assert response.status_code == 201, (url, response.get_data(as_text=True))
    followup = client.get("/v1/followups", headers=keys["read"]).get_json()["followups"][0]
    assert_error_shape(client.patch(f"/v1/followups/{followup['id']}", json={"status": "done"},
                                    headers=keys["read"]), 403)
    assert client.patch(f"/v1/followups/{followup['id']}", json={"status": "done"},
                        headers=keys["respond"]).status_code == 200


def test_only_admin_manages_the_catalog(client, keys):
    body = {"team": "payments"}
    assert_error_shape(client.put("/v1/services/payment", json=body, headers=keys["respond"]), 403, "scope")
    assert client.put("/v1/services/payment", json=body, headers=keys["admin"]).status_code == 200
    assert client.get("/v1/services", headers=keys["read"]).status_code == 200
    assert_error_shape(client.delete("/v1/services/payment", headers=keys["respond"]), 403)


# -- declare ---------------------------------------------------------------------------------
def test_declare_opens_an_incident_with_the_same_report_and_timeline(client, keys):
    response = client.post("/v1/incidents", json={"service": "payment", "title": "customers report double charges",
                                                  "severity": "P2"}, headers=keys["respond"])
    assert response.status_code == 201
    inc = response.get_json()
    assert inc["kind"] == "declared" and inc["state"] == "active" and inc["severity"] == "P2"
    assert response.headers["Location"] == f"/v1/incidents/{inc['id']}"
    report = client.get(f"/v1/triage/{inc['id']}", headers=keys["read"]).get_json()
    jsonschema.validate(report, SCHEMA)
    assert report["summary"].startswith("Declared by respond-person: customers report double charges.")
    assert report["response"]["declared"]["note"].startswith("declared by hand by respond-person")
    kinds = [(e["kind"], e["author"]) for e in entries(client, inc["id"], keys["read"])]
    assert kinds[:2] == [("status", "onset"), ("declare", "respond-person")]


def test_declare_names_every_bad_field(client, keys):
    response = client.post("/v1/incidents", json={"severity": "P9", "started_at": "yesterday"},
                           headers=keys["respond"])
    assert_error_shape(response, 400)
    assert set(response.get_json()["error"]["fields"]) == {"service", "title", "severity", "started_at"}


# -- catalog ---------------------------------------------------------------------------------
def test_the_catalog_names_the_owner_and_links_the_runbook_on_the_report(client, incident, keys):
    body = {"team": "payments", "runbook": "https://wiki.example.com/payment", "channel": "#payments"}
    assert client.put("/v1/services/payment", json=body, headers=keys["admin"]).get_json()["team"] == "payments"
    # Fields left out keep their value.
    kept = client.put("/v1/services/payment", json={"channel": "#pay-oncall"}, headers=keys["admin"]).get_json()
    assert (kept["team"], kept["runbook_url"], kept["channel"]) == \
        ("payments", "https://wiki.example.com/payment", "#pay-oncall")
    report = client.get(f"/v1/triage/{incident}", headers=keys["read"]).get_json()
    assert report["response"]["owner"] == {"service": "payment", "team": "payments", "channel": "#pay-oncall",
                                           "runbook_url": "https://wiki.example.com/payment"}
    html = client.get(f"/v1/triage/{incident}/report?format=html", headers=keys["read"]).get_data(as_text=True)
    assert 'href="https://wiki.example.com/payment"' in html


@pytest.mark.parametrize("runbook", ["javascript:alert(1)", "data:text/html,x", "/wiki/payment", "ftp://x"])
def test_a_runbook_must_be_http_or_https(client, keys, runbook):
    assert_error_shape(client.put("/v1/services/payment", json={"runbook": runbook}, headers=keys["admin"]), 400,
                       "runbook")


# -- follow-ups and the gate -----------------------------------------------------------------
def test_overdue_followups_are_listed_and_hold_the_gate(client, incident, keys):
    url = f"/v1/incidents/{incident}/followups"
    late = client.post(url, json={"title": "add retries", "owner": "bob", "due": "2020-01-01"},
                       headers=keys["respond"]).get_json()
    client.post(url, json={"title": "write the runbook", "due": "2999-01-01"}, headers=keys["respond"])
    assert (late["due_date"], late["overdue"]) == ("2020-01-01", True)
    overdue = client.get("/v1/followups?overdue=true&service=payment", headers=keys["read"]).get_json()["followups"]
    assert [f["id"] for f in overdue] == [late["id"]]
    assert client.get("/v1/followups?overdue=true&service=search", headers=keys["read"]).get_json()["followups"] == []
    gate = client.get("/v1/gate?service=payment", headers=keys["read"]).get_json()
    assert gate["blocked"] and any(late["id"] in r for r in gate["reasons"])
    assert any(r.startswith(f"{incident} is active with severity P1") for r in gate["reasons"])
    done = client.patch(f"/v1/followups/{late['id']}", json={"status": "done"}, headers=keys["respond"]).get_json()
    assert done["status"] == "done" and done["closed_by"] == "respond-person" and not done["overdue"]
    bodies = [e["body"] for e in entries(client, incident, keys["read"]) if e["kind"] == "follow-up"]
    assert bodies == ["add retries (owner bob, due 2020-01-01)", "write the runbook (due 2999-01-01)",
                      "follow-up add retries: done"]


def test_the_gate_needs_a_service(client, keys):
    assert_error_shape(client.get("/v1/gate", headers=keys["read"]), 400, "service")
    assert client.get("/v1/gate?service=quiet", headers=keys["read"]).get_json()["blocked"] is False


# -- artifacts -------------------------------------------------------------------------------
def test_an_artifact_is_stored_with_its_sha256_and_downloaded_as_an_attachment(client, incident, keys):
    body = b"# Card processor status\n\n<script>alert(1)</script>\n"
    response = client.post(f"/v1/incidents/{incident}/artifacts?name=status.md", data=body,
                           content_type="text/markdown", headers=keys["respond"])
    assert response.status_code == 201
    saved = response.get_json()
    assert saved["sha256"] == hashlib.sha256(body).hexdigest() and saved["size"] == len(body)
    listed = client.get(f"/v1/incidents/{incident}/artifacts", headers=keys["read"]).get_json()["artifacts"]
    assert [a["id"] for a in listed] == [saved["id"]]
    download = client.get(saved["download"], headers=keys["read"])
    assert download.data == body
    assert download.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="status.md"')
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("name", "body", "status"), [
    ("shot.md", b"\x89PNG\r\n\x1a\n\x00\x00", 415), ("page.html", b"<html></html>", 415),
    ("data.json", b"{nope", 415), ("", b"text", 400),
])
def test_what_is_not_markdown_json_or_text_is_refused(client, incident, keys, name, body, status):
    response = client.post(f"/v1/incidents/{incident}/artifacts?name={name}", data=body,
                           content_type="application/octet-stream", headers=keys["respond"])
    assert_error_shape(response, status)


class LazyBody(io.RawIOBase):
    """`size` bytes of text produced as they are read: the test itself never holds them. It
    seeks (without data) so that the test client can measure it."""

    def __init__(self, size: int):
        self.size, self.position = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: offset, 1: self.position + offset, 2: self.size + offset}[whence]
        return self.position

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.position, 65536)
        buffer[:n] = b"a" * n
        self.position += n
        return n


@pytest.mark.parametrize("declared_length", [True, False])
def test_a_3_mb_artifact_is_refused_with_413_without_memory_growing_by_its_size(client, incident, keys,
                                                                                declared_length):
    size = 3 * MB
    headers = {**keys["respond"], "Content-Type": "text/plain"}
    # Without a declared length: sent chunked, read until the stream ends (as gunicorn serves it).
    overrides = {} if declared_length else {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True}
    tracemalloc.start()
    try:
        response = client.post(f"/v1/incidents/{incident}/artifacts?name=big.txt", headers=headers,
                               input_stream=LazyBody(size), environ_overrides=overrides)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_error_shape(response, 413)
    # Refused by its declared length before a byte is read; without one, after at most 2 MB + a chunk.
    assert peak < (0.5 * MB if declared_length else 2.5 * MB), peak
    assert client.get(f"/v1/incidents/{incident}/artifacts", headers=keys["read"]).get_json()["artifacts"] == []


def test_a_file_of_exactly_2_mb_is_accepted(client, incident, keys):
    response = client.post(f"/v1/incidents/{incident}/artifacts?name=full.log", data=b"x" * (2 * MB),
                           content_type="text/plain", headers=keys["respond"])
    assert response.status_code == 201 and response.get_json()["size"] == 2 * MB


# -- postmortem, similar, digest -------------------------------------------------------------
def test_the_postmortem_is_markdown_with_the_authors_and_the_same_bytes_each_time(client, incident, keys):
    client.post(f"/v1/incidents/{incident}/timeline", json={"kind": "acknowledge"}, headers=keys["respond"])
    first = client.get(f"/v1/incidents/{incident}/postmortem", headers=keys["read"])
    assert first.status_code == 200 and first.headers["Content-Type"] == "text/markdown; charset=utf-8"
    text = first.get_data(as_text=True)
    assert text.startswith("# Postmortem: payment POST /charge upstream\\_timeout\n")
    assert "| respond-person | acknowledge: acknowledged |" in text
    assert client.get(f"/v1/incidents/{incident}/postmortem", headers=keys["read"]).data == first.data


def test_similar_lists_earlier_incidents_with_score_and_reason(client, store, keys):
    engine = Engine(store, "test-engine")
    first = play(store, engine, Fault(processor="http_502")).incident_id
    tick_until(engine, T0 + 600, T0 + 1000, every=100)
    second = play(store, engine, Fault(processor="http_502"), at=T0 + 86400, prefix="d").incident_id
    found = client.get(f"/v1/incidents/{second}/similar", headers=keys["read"]).get_json()["similar"]
    assert found[0]["id"] == first and found[0]["score"] == 0.8
    assert found[0]["reason"].startswith("same family payment/POST /charge/upstream_timeout")
    assert client.get(f"/v1/incidents/{first}/similar", headers=keys["read"]).get_json()["similar"] == []


def test_the_digest_gives_the_same_facts_in_json_and_markdown(client, incident, keys):
    week = week_of(T0)
    digest = client.get(f"/v1/digests/{week}", headers=keys["read"]).get_json()
    assert digest["week"] == week and digest["incidents"]["total"] == 1
    assert digest["incidents"]["by_severity"] == {"P1": 1}
    markdown = client.get(f"/v1/digests/{week}?format=markdown", headers=keys["read"])
    assert markdown.headers["Content-Type"] == "text/markdown; charset=utf-8"
    text = markdown.get_data(as_text=True)
    assert f"# Onset digest {week}" in text and f"`{incident}`" in text and "P1 1" in text
    assert_error_shape(client.get("/v1/digests/2026-47", headers=keys["read"]), 400, "week")
