"""Sign-in with an API key, the session cookie, sign-out, and what a revoked key does."""

from __future__ import annotations

import os
import stat
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.session import SECRET_FILE, session_secret
from server.app import create_app
from server.auth import forget_cached_keys
from server.config import ConfigError
from server.store import keys
from server.store.keys import hash_key
from tests.conftest import make_settings
from tests.dashboard.conftest import csrf_of, sign_in_with


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_pages_redirect_to_sign_in_when_signed_out(client):
    response = client.get("/ui/incidents/inc_x?x=1")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/ui/sign-in"
    assert parse_qs(location.query) == {"next": ["/ui/incidents/inc_x?x=1"]}


def test_htmx_fragment_when_signed_out_is_401_with_hx_redirect(client):
    response = client.get("/ui/incidents/list", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/ui/sign-in"


def test_cross_site_navigation_reloads_from_here_for_the_strict_cookie(client):
    # A link in Slack: the SameSite=Strict cookie is not sent, so the page reloads itself
    # from this site instead of showing the sign-in page to someone who is signed in.
    response = client.get("/ui/", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200
    assert '<meta http-equiv="refresh" content="0">' in response.get_data(as_text=True)


def test_read_key_signs_in_and_reaches_the_page_it_asked_for(client, make_key):
    response = sign_in_with(client, make_key("read"), next_url="/ui/services")
    assert response.status_code == 303
    assert response.headers["Location"] == "/ui/services"
    assert client.get("/ui/services").status_code == 200


def test_session_cookie_is_httponly_strict_scoped_and_holds_no_key(app, client, make_key):
    key = make_key("read")
    cookie = session_cookie(sign_in_with(client, key))
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/ui" in cookie
    assert "Secure" not in cookie  # plain http here
    value = cookie.split(";")[0].split("=", 1)[1]
    content = app.session_interface.get_signing_serializer(app).loads(value)
    assert set(content) == {"_permanent", "csrf", "key_id", "key_hash"}
    assert content["key_hash"] == hash_key(key)
    assert key not in str(content) and key.split("_", 2)[2] not in str(content)


def test_session_cookie_is_secure_over_https(app, make_key):
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    page = client.get("/ui/sign-in", base_url="https://onset.example")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/ui/sign-in", base_url="https://onset.example",
                           data={"key": make_key("read"), "csrf_token": token, "next": "/ui/"})
    assert response.status_code == 303
    assert "Secure" in session_cookie(response)


def test_unknown_key_is_refused_with_the_reason(client):
    response = sign_in_with(client, "onk_nothere_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 401
    assert "Unknown or revoked API key." in response.get_data(as_text=True)
    assert client.get("/ui/").status_code == 302


def test_key_without_read_scope_is_refused(client, make_key):
    response = sign_in_with(client, make_key("ingest"))
    assert response.status_code == 403
    assert "needs a key with read" in response.get_data(as_text=True)
    assert client.get("/ui/").status_code == 302


def test_sign_in_without_the_csrf_token_is_refused(client, make_key):
    client.get("/ui/sign-in")
    response = client.post("/ui/sign-in", data={"key": make_key("read"), "next": "/ui/"})
    assert response.status_code == 403
    assert client.get("/ui/").status_code == 302


def test_next_never_leads_to_another_site(client, make_key):
    for target in ("https://evil.example/", "//evil.example/ui/", "/ui/\\evil", "/v1/incidents"):
        response = sign_in_with(client, make_key("read"), next_url=target)
        assert response.headers["Location"] == "/ui/", target


def test_revoking_the_key_signs_the_session_out(client, store):
    key, info = keys.create_key("oncall", ("read",))
    sign_in_with(client, key)
    assert client.get("/ui/").status_code == 200
    assert keys.revoke_key(info.key_id)
    forget_cached_keys()  # skip the 5 s per-process cache
    response = client.get("/ui/")
    assert response.status_code == 302
    assert "/ui/sign-in" in response.headers["Location"]


def test_sign_out_needs_the_csrf_token_then_ends_the_session(ui):
    assert ui.post("/ui/sign-out").status_code == 403
    assert ui.get("/ui/").status_code == 200
    response = ui.post("/ui/sign-out", data={"csrf_token": csrf_of(ui)})
    assert response.status_code == 303
    assert ui.get("/ui/").status_code == 302


def test_csrf_token_in_the_htmx_header_is_accepted(ui):
    token = csrf_of(ui)
    assert ui.post("/ui/sign-out", headers={"X-CSRF-Token": token}).status_code == 303


def test_a_wrong_csrf_token_is_refused(ui):
    assert ui.post("/ui/sign-out", headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert ui.post("/ui/sign-out", data={"csrf_token": "forged"}).status_code == 403


def test_csrf_token_stays_the_same_for_the_whole_session(ui):
    # Flask-WTF's tokens expire after an hour; a dashboard left open overnight must still work.
    first = csrf_of(ui)
    assert csrf_of(ui) == first


def test_page_carries_the_token_for_htmx_requests(ui):
    page = ui.get("/ui/").get_data(as_text=True)
    assert f'hx-headers=\'{{"X-CSRF-Token": "{csrf_of(ui)}"}}\'' in page


def test_session_secret_is_made_once_with_mode_0600_and_kept(tmp_path, db_url):
    settings = make_settings(db_url, str(tmp_path / "data"))
    first = session_secret(settings)
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first) >= 64
    assert session_secret(settings) == first
    assert [p.name for p in path.parent.iterdir()] == [SECRET_FILE]  # no draft left behind


def test_onset_session_secret_wins_over_the_file(tmp_path, db_url):
    settings = make_settings(db_url, str(tmp_path / "data"), session_secret="s3cret-from-env")
    assert session_secret(settings) == b"s3cret-from-env"
    assert not (tmp_path / "data" / SECRET_FILE).exists()


def test_sessions_survive_a_restart_with_the_same_secret(store, make_key):
    client = create_app(store).test_client()
    sign_in_with(client, make_key("read"))
    cookie = client.get_cookie("session", path="/ui")
    again = create_app(store).test_client()
    again.set_cookie("session", cookie.value, path="/ui")
    assert again.get("/ui/").status_code == 200


def test_an_unwritable_data_dir_names_the_setting_to_use(tmp_path, db_url):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings = make_settings(db_url, str(blocker / "data"))
    with pytest.raises(ConfigError, match="ONSET_SESSION_SECRET"):
        session_secret(settings)
