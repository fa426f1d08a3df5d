"""GET /v1/triage/{id}, GET /v1/triage/{id}/report?format=..., and `evidence[]` on GET /v1/incidents/{id}."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import orjson
import pytest

from server.engine.tick import Engine
from server.triage.canonical import canonical_json, report_hash
from server.triage.render import slack
from tests.support.error_shape import assert_error_shape
from tests.support.triage_traffic import Fault, play

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "triage.v1.schema.json").read_text())
CONTENT_TYPES = {"text": "text/plain", "markdown": "text/markdown", "slack": "application/json",
                 "pagerduty": "text/plain", "html": "text/html"}


@pytest.fixture
def incident_id(store) -> str:
    return play(store, Engine(store, "api-test"), Fault(processor="timeout")).incident_id


@pytest.fixture
def reader(auth) -> dict[str, str]:
    return auth("read")


def test_report_is_canonical_json_with_its_hash_in_a_header(client, reader, incident_id):
    response = client.get(f"/v1/triage/{incident_id}", headers=reader)
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_data()
    report = orjson.loads(body)
    assert canonical_json(report) == body  # sorted keys, no whitespace: the bytes anyone can re-hash
    assert response.headers["X-Onset-Report-Hash"] == report["report_hash"] == report_hash(report)
    jsonschema.validate(report, SCHEMA)


def test_reading_the_same_state_twice_gives_the_same_bytes(client, reader, incident_id):
    first = client.get(f"/v1/triage/{incident_id}", headers=reader).get_data()
    assert client.get(f"/v1/triage/{incident_id}", headers=reader).get_data() == first


@pytest.mark.parametrize("fmt", sorted(CONTENT_TYPES))
def test_every_format_shows_the_same_report_hash(client, reader, incident_id, fmt):
    digest = client.get(f"/v1/triage/{incident_id}", headers=reader).get_json()["report_hash"]
    response = client.get(f"/v1/triage/{incident_id}/report?format={fmt}", headers=reader)
    assert response.status_code == 200
    assert response.mimetype == CONTENT_TYPES[fmt]
    assert response.headers["X-Onset-Report-Hash"] == digest
    assert digest in response.get_data(as_text=True)


def test_slack_format_is_block_kit_within_limits(client, reader, incident_id):
    message = client.get(f"/v1/triage/{incident_id}/report?format=slack", headers=reader).get_json()
    assert 0 < len(message["blocks"]) <= slack.MAX_BLOCKS
    assert message["blocks"][0]["type"] == "header"
    assert all(len(b["text"]["text"]) <= slack.MAX_SECTION_TEXT for b in message["blocks"] if b["type"] == "section")


def test_default_format_is_text(client, reader, incident_id):
    response = client.get(f"/v1/triage/{incident_id}/report", headers=reader)
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True).startswith(incident_id)


def test_unknown_format_is_a_validation_error_naming_the_field(client, reader, incident_id):
    assert_error_shape(client.get(f"/v1/triage/{incident_id}/report?format=pdf", headers=reader), 400, "format")


@pytest.mark.parametrize("path", ["/v1/triage/inc_20000101_0000_000000",
                                  "/v1/triage/inc_20000101_0000_000000/report?format=text"])
def test_unknown_incident_is_404_in_the_error_shape(client, reader, store, path):
    assert_error_shape(client.get(path, headers=reader), 404, "incident_id")


@pytest.mark.parametrize("path", ["/v1/triage/x", "/v1/triage/x/report", "/v1/traces/t1", "/v1/blast"])
def test_triage_routes_need_the_read_scope(client, auth, path):
    assert_error_shape(client.get(path), 401)
    assert_error_shape(client.get(path, headers=auth("ingest")), 403)


def test_incident_lists_its_evidence_in_the_report_order(client, reader, incident_id):
    incident = client.get(f"/v1/incidents/{incident_id}", headers=reader).get_json()
    report = client.get(f"/v1/triage/{incident_id}", headers=reader).get_json()
    assert incident["evidence"] == report["evidence"]
    assert [e["kind"] for e in incident["evidence"]][:3] == ["family", "family", "family"]
    assert all(set(e) == {"kind", "id", "summary", "time", "source"} for e in incident["evidence"])
    assert incident["evidence_status"]["alerts"]["status"] == "ok"  # captured; none attached
    propagation = incident["evidence_status"]["propagation"]
    assert propagation["status"] == "ok" and propagation["phase"] == "latest" and propagation["captured_at"]
