"""Who is signed in to the dashboard: the session secret, the session cookie, sign-in with an
API key, the per-session CSRF token, and the @signed_in guard.

The session cookie (Flask's, signed with the session secret) holds the key's id and SHA-256,
never the key itself. Every request re-verifies them through the cached key lookup
(`server.auth.lookup_hashed`), so revoking a key signs its sessions out within
`server.auth.CACHE_SECONDS`. The CSRF token lives as long as the session: a dashboard left
open overnight still works in the morning (Flask-WTF's default would expire it after 1 h).
"""

from __future__ import annotations

import functools
import hmac
import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, Response, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from server.auth import grants, lookup, lookup_hashed
from server.config import ConfigError, Settings
from server.store.keys import KeyInfo, hash_key

F = TypeVar("F", bound=Callable[..., Any])

SECRET_FILE = "session.key"
COOKIE_PATH = "/ui"
SESSION_DAYS = 14
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
UNKNOWN_KEY = "Unknown or revoked API key."


def session_secret(settings: Settings) -> bytes:
    """ONSET_SESSION_SECRET, or the secret kept in <data dir>/session.key (made on first use)."""
    if settings.session_secret:
        return settings.session_secret.encode()
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        return _secret_file(path)
    except OSError as exc:
        raise ConfigError(f"cannot keep the dashboard's session secret in {path} ({exc.strerror}):"
                          " make ONSET_DATA_DIR writable or set ONSET_SESSION_SECRET") from None


def _secret_file(path: Path) -> bytes:
    if path.exists() and path.read_bytes().strip():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_hex(32).encode())
        out.flush()
        os.fsync(out.fileno())
    try:
        # link() is atomic and refuses to replace: of several workers starting at once, the
        # first secret written wins and every worker signs with it.
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_bytes().strip()


class DashboardSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, sent only to /ui, HttpOnly, SameSite=Strict, and Secure
    whenever the request itself came over HTTPS."""

    salt = "onset-dashboard-session"

    def get_cookie_path(self, app: Flask) -> str:
        return COOKIE_PATH

    def get_cookie_httponly(self, app: Flask) -> bool:
        return True

    def get_cookie_samesite(self, app: Flask) -> str:
        return "Strict"

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure


def configure_sessions(app: Flask) -> None:
    app.secret_key = session_secret(app.config["ONSET"])
    app.session_interface = DashboardSessions()
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=SESSION_DAYS)


def csrf_token() -> str:
    """This session's CSRF token, made on first use; templates put it in forms and hx-headers."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok() -> bool:
    """The request carries this session's token in the X-CSRF-Token header or the form."""
    expected = session.get("csrf")
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def refuse_forged_requests() -> Response | None:
    """Blueprint before_request: every state-changing dashboard request needs the token."""
    if request.method in SAFE_METHODS or csrf_ok():
        return None
    return page_response("error.html", 403, title="Refused: missing or wrong CSRF token",
                         message="This request did not come from a dashboard page of this session."
                                 " Reload the page and try again.")


def sign_in(key: str) -> tuple[KeyInfo | None, str | None]:
    """Start a session for `key`: (its info, None), or (None, why not) for a key that is
    unknown, revoked or lacks the `read` scope."""
    info = lookup(key) if key and "\x00" not in key else None
    if info is None:
        return None, UNKNOWN_KEY
    if not grants(info.scopes, "read"):
        return None, (f"This key has the scopes {', '.join(info.scopes)}; the dashboard needs a key with"
                      " read, respond or admin.")
    session.clear()
    session.permanent = True
    session["key_id"] = info.key_id
    session["key_hash"] = hash_key(key)
    csrf_token()
    return info, None


def sign_out() -> None:
    session.clear()


def signed_in_key() -> KeyInfo | None:
    """The live key of this session, or None (signed out, or the key was revoked)."""
    key_id, key_hash = session.get("key_id"), session.get("key_hash")
    if not isinstance(key_id, str) or not isinstance(key_hash, str):
        return None
    info = lookup_hashed(key_id, key_hash)
    if info is None:
        session.pop("key_id", None)
        session.pop("key_hash", None)
    return info


def is_fragment_request() -> bool:
    """An htmx request that swaps part of a page (not a boosted whole-page one)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a dashboard path of this site, never another site."""
    if target and target.startswith(COOKIE_PATH + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("dashboard.incidents_page")


def _sign_in_first() -> Response:
    if is_fragment_request():
        # htmx follows HX-Redirect whatever the status: the whole page goes to the sign-in.
        response = Response("sign in first", 401, mimetype="text/plain")
        response.headers["HX-Redirect"] = url_for("dashboard.sign_in_page")
        return response
    target = request.full_path if request.query_string else request.path
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        # A SameSite=Strict cookie is not sent on a navigation that starts on another site
        # (a link in Slack or a PagerDuty mail): reload from here, where it is sent.
        return page_response("reload.html", 200, target=target)
    return redirect(url_for("dashboard.sign_in_page", next=target))


def signed_in(scope: str = "read") -> Callable[[F], F]:
    """Guard a dashboard view: the session's key must be live and grant `scope`. Without a
    session: a redirect to the sign-in page (401 + HX-Redirect for htmx fragments). Sets
    `g.key` and `required_scope` like `server.auth.requires`."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            info = signed_in_key()
            if info is None:
                return _sign_in_first()
            if not grants(info.scopes, scope):
                return page_response("error.html", 403, title="Not allowed",
                                     message=f"The key {info.name} lacks the {scope} scope.")
            g.key = info
            return view(*args, **kwargs)

        wrapper.required_scope = scope  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def page_response(template: str, status: int, **context: Any) -> Response:
    response = Response(render_template(template, **context), status, mimetype="text/html")
    return response
