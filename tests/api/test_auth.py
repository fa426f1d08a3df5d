"""API keys and scopes: every route is guarded, keys are stored hashed, revocation works."""

from __future__ import annotations

import hashlib

import pytest

from server.auth import forget_cached_keys, grants
from server.store import db, keys
from tests.support.error_shape import assert_error_shape

PUBLIC = {"static", "health.livez", "health.readyz",
          # The dashboard's sign-in page and the CSS and scripts it needs cannot ask for a session.
          "dashboard.sign_in_page", "dashboard.static"}
# The dashboard authenticates by session cookie, not bearer key: it redirects to its sign-in
# page instead of answering 401 JSON. tests/dashboard/test_security.py walks its routes.
SESSION_AUTHENTICATED = "dashboard."
# A key that lacks each scope (nothing implies admin except admin itself).
LACKING = {"ingest": "read", "read": "ingest", "respond": "read", "agent": "respond", "admin": "respond"}
EVENT = [{"service": "checkout", "step": "POST /checkout"}]


def guarded_requests(app) -> list[tuple[str, str, str]]:
    """(method, url, required scope) for every method of every non-public route."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.endpoint.startswith(SESSION_AUTHENTICATED):
            continue
        view = app.view_functions[rule.endpoint]
        scope = getattr(view, "required_scope", None)
        url = adapter.build(rule.endpoint, {name: "x" for name in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, url, scope))
    return found


def test_every_route_except_health_declares_a_scope(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(e for e in endpoints - PUBLIC if getattr(app.view_functions[e], "required_scope", None) is None)
    assert missing == []
    # The walk covers the routes that matter (guards against an empty map passing).
    urls = {url for _, url, _ in guarded_requests(app)}
    assert {"/v1/events", "/v1/signals", "/v1/deploys", "/v1/incidents", "/v1/incidents/x"} <= urls


def test_health_routes_are_public_on_purpose(app, client):
    for endpoint in ("health.livez", "health.readyz"):
        assert hasattr(app.view_functions[endpoint], "required_scope")
        assert app.view_functions[endpoint].required_scope is None
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)


def test_request_without_a_key_gets_401_on_every_route(app, client):
    failures = []
    for method, url, _ in guarded_requests(app):
        response = client.open(url, method=method)
        try:
            assert_error_shape(response, 401)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        except (AssertionError, KeyError) as exc:
            failures.append(f"{method} {url}: {exc!r}")
    assert not failures, "\n".join(failures)


def test_key_lacking_the_scope_gets_403_on_every_route(app, client, auth):
    failures = []
    for method, url, scope in guarded_requests(app):
        response = client.open(url, method=method, headers=auth(LACKING[scope]))
        try:
            assert_error_shape(response, 403, "scope")
        except AssertionError as exc:
            failures.append(f"{method} {url} (needs {scope}): {exc}")
    assert not failures, "\n".join(failures)


def test_key_with_the_scope_gets_past_the_guard_on_every_route(app, client, auth):
    # The requests carry no body, so they may still fail validation: but not authentication.
    for method, url, scope in guarded_requests(app):
        response = client.open(url, method=method, headers=auth(scope))
        assert response.status_code not in (401, 403), (method, url, response.get_data(as_text=True))


@pytest.mark.parametrize("header", ["Bearer onk_nothere_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Bearer ",
                                    "Basic dXNlcjpwYXNz", "onk_abc_def", "Bearer onk_a\x00b_c"])
def test_unknown_or_malformed_keys_get_401(client, header):
    response = client.get("/v1/incidents", headers={"Authorization": header})
    assert_error_shape(response, 401)


def test_scheme_is_case_insensitive(client, make_key):
    key = make_key("read")
    assert client.get("/v1/incidents", headers={"Authorization": f"bearer {key}"}).status_code == 200


def test_keys_are_stored_hashed(client, make_key):
    key = make_key("ingest", name="ci")
    secret = key.rsplit("_", 1)[1]
    rows = db.fetchall("SELECT * FROM api_keys")
    assert len(rows) == 1
    for value in rows[0]:
        assert key not in str(value) and secret not in str(value)
    stored_hash = db.fetchone("SELECT key_hash FROM api_keys")[0]
    assert stored_hash == hashlib.sha256(key.encode()).hexdigest()
    # And the stored form still authenticates the key.
    assert client.post("/v1/events", json=EVENT, headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_a_key_differing_only_in_its_secret_is_refused(client, make_key):
    key = make_key("read")
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert_error_shape(client.get("/v1/incidents", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_revoked_key_stops_working(client, store):
    key, info = keys.create_key("ci", ("ingest",))
    headers = {"Authorization": f"Bearer {key}"}
    assert client.post("/v1/events", json=EVENT, headers=headers).status_code == 200
    assert keys.revoke_key(info.key_id)
    forget_cached_keys()  # skip the 5 s per-process cache
    response = client.post("/v1/events", json=EVENT, headers=headers)
    assert_error_shape(response, 401)
    assert "revoked" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(("scope", "allowed"), [
    ("admin", {"ingest", "read", "respond", "admin"}),
    ("respond", {"read", "respond"}),
    ("read", {"read"}),
    ("ingest", {"ingest"}),
])
def test_scope_implications(scope, allowed):
    for needed in ("ingest", "read", "respond", "admin"):
        assert grants((scope,), needed) == (needed in allowed), (scope, needed)


def test_a_key_with_several_scopes_has_each(client, auth):
    headers = auth("ingest", "read")
    assert client.post("/v1/events", json=EVENT, headers=headers).status_code == 200
    assert client.get("/v1/signals", headers=headers).status_code == 200


@pytest.mark.parametrize(("scope", "can_ingest", "can_read"), [
    ("admin", True, True), ("respond", False, True), ("read", False, True), ("ingest", True, False),
])
def test_scope_implications_over_http(client, auth, scope, can_ingest, can_read):
    headers = auth(scope)
    posted = client.post("/v1/events", json=EVENT, headers=headers)
    assert posted.status_code == (200 if can_ingest else 403)
    for path in ("/v1/signals", "/v1/incidents"):
        assert client.get(path, headers=headers).status_code == (200 if can_read else 403)


# The incident log's routes (docs/incident-log.md) and the role each needs: `read` sees;
# `respond` writes the timeline, declares, acks, assigns, resolves, adds follow-ups and
# artifacts; `admin` manages the service catalog (as it manages keys and channels).
INCIDENT_LOG_SCOPES = {
    ("POST", "/v1/incidents"): "respond",
    ("GET", "/v1/incidents/x/timeline"): "read",
    ("POST", "/v1/incidents/x/timeline"): "respond",
    ("GET", "/v1/incidents/x/similar"): "read",
    ("GET", "/v1/incidents/x/postmortem"): "read",
    ("GET", "/v1/incidents/x/followups"): "read",
    ("POST", "/v1/incidents/x/followups"): "respond",
    ("GET", "/v1/followups"): "read",
    ("PATCH", "/v1/followups/x"): "respond",
    ("GET", "/v1/gate"): "read",
    ("GET", "/v1/incidents/x/artifacts"): "read",
    ("POST", "/v1/incidents/x/artifacts"): "respond",
    ("GET", "/v1/incidents/x/artifacts/x"): "read",
    ("GET", "/v1/services"): "read",
    ("GET", "/v1/services/x"): "read",
    ("PUT", "/v1/services/x"): "admin",
    ("DELETE", "/v1/services/x"): "admin",
    ("GET", "/v1/digests/x"): "read",
    ("GET", "/v1/channels"): "admin",
    ("POST", "/v1/channels"): "admin",
}


def test_each_incident_log_route_needs_the_scope_of_its_role(app):
    declared = {(method, url): scope for method, url, scope in guarded_requests(app)}
    wrong = {route: (declared.get(route), scope) for route, scope in INCIDENT_LOG_SCOPES.items()
             if declared.get(route) != scope}
    assert wrong == {}, "route: (declared, expected)"


def test_a_read_key_gets_403_on_every_incident_log_write_and_a_respond_key_gets_past(client, auth):
    for (method, url), scope in INCIDENT_LOG_SCOPES.items():
        if scope != "respond":
            continue
        assert_error_shape(client.open(url, method=method, headers=auth("read")), 403, "scope")
        assert client.open(url, method=method, headers=auth("respond")).status_code not in (401, 403), (method, url)
