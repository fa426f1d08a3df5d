"""GET /v1/capabilities and the `agent` scope: what the server can do, what the key may do."""

from __future__ import annotations

import dataclasses

import pytest

from server.app import create_app
from server.store import channels, db
from tests.support.error_shape import assert_error_shape


def test_capabilities_say_what_the_server_can_do_and_what_the_key_may_do(client, auth, store):
    body = client.get("/v1/capabilities", headers=auth("agent")).get_json()
    assert body["version"]
    assert body["storage"] == {"backend": "postgresql" if db.is_postgres() else "sqlite"}
    assert set(body["engine"]) >= {"leader", "last_tick_at", "tick_seconds", "window_seconds"}
    assert body["rate_limits"]["per_key_per_second"] == {"ingest": None, "read": None, "agent": None}
    assert body["sentinel"]["enabled"] is True and body["sentinel"]["active_health_alerts"] == 0
    assert body["channels"] == {"configured": 0, "by_type": {}}
    assert body["otlp"]["traces"] == "/v1/traces"
    assert body["llm"]["provider"] == "none" and body["llm"]["narration"] == "template"
    assert body["key"]["scopes"] == ["agent"] and body["key"]["grants"] == ["agent", "read"]
    assert "add_timeline_note" not in body["agents"]["mcp_tools"] and body["agents"]["plans"] is True
    assert "triage" in body["agents"]["plan_templates"]


def test_settings_show_in_capabilities_but_secrets_never_do(store, auth):
    settings = dataclasses.replace(store, ratelimit_agent_rps=5.0, ratelimit_read_rps=20.0, llm_provider="anthropic",
                                   llm_model="small", llm_api_key="sk-secret-value", sentinel_enabled=False)
    app = create_app(settings)
    channels.create_channel("slack", "oncall", "https://hooks.slack.test/T0/B0/secret-path", None, [], 1.0)
    response = app.test_client().get("/v1/capabilities", headers=auth("respond", "agent"))
    body = response.get_json()
    assert body["rate_limits"]["per_key_per_second"] == {"ingest": None, "read": 20.0, "agent": 5.0}
    assert body["llm"] == {**body["llm"], "provider": "anthropic", "model": "small", "narration": "llm"}
    assert body["sentinel"]["enabled"] is False
    assert body["channels"] == {"configured": 1, "by_type": {"slack": 1}}
    assert "add_timeline_note" in body["agents"]["mcp_tools"]
    text = response.get_data(as_text=True)
    assert "sk-secret-value" not in text and "secret-path" not in text


def test_capabilities_need_a_read_key(client, auth):
    assert_error_shape(client.get("/v1/capabilities"), 401)
    assert_error_shape(client.get("/v1/capabilities", headers=auth("ingest")), 403, "scope")


@pytest.mark.parametrize("path", ["/v1/incidents", "/v1/blast", "/v1/health/services", "/v1/capabilities"])
def test_an_agent_key_reads(client, auth, path):
    assert client.get(path, headers=auth("agent")).status_code == 200


def test_an_agent_key_changes_nothing_without_respond(client, auth):
    response = client.post("/v1/health/alerts/hal_x/action", json={"confirm": True}, headers=auth("agent"))
    assert_error_shape(response, 403, "scope")
    assert_error_shape(client.post("/v1/events", json=[], headers=auth("agent")), 403, "scope")
    assert_error_shape(client.get("/v1/channels", headers=auth("agent")), 403, "scope")


def test_admin_implies_agent(client, auth):
    body = client.get("/v1/capabilities", headers=auth("admin")).get_json()
    assert "agent" in body["key"]["grants"] and body["agents"]["plans"] is True
