"""GET /openapi.json: generated from the marshmallow schemas, covering every API route."""

from __future__ import annotations

import re

import schemathesis

from server.openapi import api_rules, openapi_document, undocumented
from tests.support.error_shape import assert_error_shape


def test_every_route_and_method_is_in_the_document_with_the_scope_its_view_requires(app):
    paths = openapi_document(app)["paths"]
    for rule in api_rules(app):
        path = re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        scope = getattr(app.view_functions[rule.endpoint], "required_scope", None)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths[path][method.lower()]
            assert operation.get("x-onset-scope") == scope, (path, method)
            assert (operation["security"] == []) == (scope is None), (path, method)


def test_the_routes_of_this_issue_and_the_foundation_are_described_in_full(app):
    # Routes added later appear with their scope and docstring until OPERATIONS describes them.
    described = {"ingest.post_events", "ingest.post_signals", "ingest.post_deploys", "ingest.get_signals",
                 "alerts.post_alerts", "alerts.post_alerts_from", "alerts.post_pagerduty", "alerts.list_alerts",
                 "otlp.post_traces", "incidents.list_incidents", "incidents.get_incident", "triage.get_triage",
                 "triage.get_triage_report", "traces.get_trace", "blast.get_blast", "metrics.get_metrics",
                 "openapi.get_openapi", "health.livez", "health.readyz"}
    assert described.isdisjoint(undocumented(app))
    print("described by scope and docstring only:", undocumented(app))


def test_the_document_is_served_to_a_read_key_and_loads_as_openapi(client, auth):
    assert_error_shape(client.get("/openapi.json"), 401)
    response = client.get("/openapi.json", headers=auth("read"))
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    operations = [r.ok() for r in schemathesis.openapi.from_dict(document).get_all_operations()]
    assert len(operations) == sum(len(methods) for methods in document["paths"].values())


def test_request_bodies_come_from_the_marshmallow_schemas(app):
    document = openapi_document(app)
    event = document["components"]["schemas"]["Event"]
    assert set(event["required"]) == {"service", "step"}
    assert event["properties"]["trace_id"]["pattern"].endswith("$")  # ECMA, not Python's \Z
    assert {"oneOf"} <= set(event["properties"]["ts"])
    body = document["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["oneOf"][0]["items"] == {"$ref": "#/components/schemas/Event"}


def test_scopes_and_the_error_shape_are_documented(app):
    document = openapi_document(app)
    events = document["paths"]["/v1/events"]["post"]
    assert events["x-onset-scope"] == "ingest" and events["security"] == [{"bearer": []}]
    assert document["paths"]["/livez"]["get"]["security"] == []
    assert document["paths"]["/v1/alerts"]["post"]["security"] == [{"bearer": []}, {"basic": []}]
    error = document["components"]["schemas"]["ErrorDetail"]
    assert set(error["properties"]) == {"code", "message", "fields"}
