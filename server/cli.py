"""The `onset` command line.

Server-side commands (`serve`, `engine`, `migrate`, `keys`) act on the local database;
everything else talks to the server over HTTP with ONSET_URL and ONSET_API_KEY.
Exit codes: 0 ok, 1 error, 2 usage (including a bad ONSET_ setting).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

import click
import orjson

from server.bootstrap import prepare
from server.client import ApiClient, ApiFailure
from server.config import ConfigError, Settings, load_settings
from server.engine.runner import EngineRunner
from server.serve import GunicornServer
from server.store import keys as key_store
from server.store import migrate as migrations
from server.store.db import close_database, open_database
from server.store.keys import SCOPES


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(f"onset: bad configuration: {exc}", err=True)
        sys.exit(2)


def _color() -> bool:
    # NO_COLOR (no-color.org) is a terminal convention, not an Onset setting; click ignores it.
    return "NO_COLOR" not in os.environ and sys.stdout.isatty()


def _style(text: str, **kwargs: Any) -> str:
    return click.style(text, **kwargs) if _color() else text


def _fail(message: str) -> None:
    click.echo(f"onset: {message}", err=True)
    sys.exit(1)


def _print_json(payload: Any) -> None:
    click.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())


def _client(settings: Settings) -> ApiClient:
    return ApiClient(settings.url, settings.api_key)


def _call(fn, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ApiFailure as exc:
        _fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="onset")
def main() -> None:
    """Onset: incident triage for on-call engineers."""


# -- server-side -------------------------------------------------------------------------
@main.command()
@click.option("--bind", help="HOST:PORT (default ONSET_BIND).")
@click.option("--workers", type=int, help="gunicorn workers (default ONSET_WORKERS).")
def serve(bind: str | None, workers: int | None) -> None:
    """Run the server (gunicorn) with the engine inside, under the lease."""
    settings = _settings()
    overrides = {k: v for k, v in (("bind", bind), ("workers", workers)) if v is not None}
    if overrides:
        try:
            settings = load_settings(**overrides)
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from None
    prepare(settings)
    click.echo(f"onset: serving on http://{settings.bind} with {settings.workers} workers", err=True)
    GunicornServer(settings).run()


@main.command()
def engine() -> None:
    """Run the engine alone (no HTTP); it ticks while it holds the lease."""
    settings = _settings()
    prepare(settings)
    open_database(settings.resolved_database_url, synchronous=settings.sqlite_synchronous)
    runner = EngineRunner(settings)
    signal.signal(signal.SIGTERM, lambda *_: runner._stop.set())
    click.echo(f"onset: engine {runner.holder} running, tick {settings.tick_seconds:g}s", err=True)
    try:
        runner.run_forever()
    except KeyboardInterrupt:
        runner._shutdown()


@main.command()
@click.option("--status", "show_status", is_flag=True, help="List migrations and whether each is applied.")
def migrate(show_status: bool) -> None:
    """Apply pending schema migrations (or list them with --status)."""
    settings = _settings()
    open_database(settings.resolved_database_url, synchronous=settings.sqlite_synchronous)
    try:
        if show_status:
            for s in migrations.status():
                state = f"applied {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(s.applied_at))}" \
                    if s.applied_at else "pending"
                click.echo(f"{s.version:04d}_{s.name}  {state}")
            return
        applied = migrations.migrate()
        for m in applied:
            click.echo(f"applied {m.version:04d}_{m.name}")
        if not applied:
            click.echo("up to date")
    finally:
        close_database()


@main.group()
def keys() -> None:
    """Manage API keys (on the server host: acts on the local database)."""


def _keys_db() -> Settings:
    settings = _settings()
    open_database(settings.resolved_database_url, synchronous=settings.sqlite_synchronous)
    migrations.migrate()
    return settings


@keys.command("create")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(SCOPES),
              help="Scope to grant; repeat for several.")
@click.option("--name", required=True, help="Who or what uses the key.")
@click.option("--json", "as_json", is_flag=True)
def keys_create(scopes: tuple[str, ...], name: str, as_json: bool) -> None:
    """Create a key and print it once."""
    _keys_db()
    key, info = key_store.create_key(name, tuple(dict.fromkeys(scopes)))
    close_database()
    if as_json:
        _print_json({**info.as_dict(), "key": key})
    else:
        click.echo(key)
        click.echo(f"(key id {info.key_id}, scopes {','.join(info.scopes)}; it is not shown again)", err=True)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
def keys_list(as_json: bool) -> None:
    """List keys (never their secrets)."""
    _keys_db()
    rows = key_store.list_keys()
    close_database()
    if as_json:
        _print_json({"keys": [k.as_dict() for k in rows]})
        return
    for k in rows:
        state = "revoked" if k.revoked_at else "live"
        click.echo(f"{k.key_id:14} {state:8} {','.join(k.scopes):20} {k.name}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id (see `onset keys list`)."""
    _keys_db()
    done = key_store.revoke_key(key_id)
    close_database()
    if not done:
        _fail(f"no live key {key_id}")
    click.echo(f"revoked {key_id}")


# -- client-side -------------------------------------------------------------------------
_STATE_COLORS = {"active": "red", "recovering": "yellow", "resolved": "green"}


def _family(f: dict[str, str]) -> str:
    return f"{f['service']}/{f['step']}/{f['error_code']}"


@main.command()
@click.option("--state", type=click.Choice(["active", "recovering", "resolved", "all"]), default="all")
@click.option("--limit", type=click.IntRange(1, 1000), default=100)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def incidents(state: str, limit: int, as_json: bool) -> None:
    """List incidents, newest first."""
    settings = _settings()
    body = _call(_client(settings).get_json, "/v1/incidents", state=state, limit=limit)
    if as_json:
        _print_json(body)
        return
    rows = body["incidents"]
    if not rows:
        click.echo(f"no {'' if state == 'all' else state + ' '}incidents")
        return
    for inc in rows:
        st = _style(f"{inc['state']:10}", fg=_STATE_COLORS.get(inc["state"]), bold=inc["state"] == "active")
        click.echo(f"{inc['id']}  {st} {inc['cause']:10} {inc['confidence']:6} {_family(inc['family'])}"
                   f"  onset {inc['onset']}")


@main.command()
@click.argument("incident_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def incident(incident_id: str, as_json: bool) -> None:
    """Show one incident: cause, reasons, origin, next checks."""
    settings = _settings()
    inc = _call(_client(settings).get_json, f"/v1/incidents/{incident_id}")
    if as_json:
        _print_json(inc)
        return
    click.echo(render_incident_text(inc, _style))


def render_incident_text(inc: dict[str, Any], style=lambda text, **_: text) -> str:
    lines = [
        style(inc["id"], bold=True) + "  " + style(inc["state"], fg=_STATE_COLORS.get(inc["state"])),
        f"family    {_family(inc['family'])} ({inc['family']['env']})",
        f"onset     {inc['onset']}",
        f"cause     {inc['cause']} ({inc['confidence']} confidence)",
    ]
    for reason in inc.get("reasons", []):
        lines.append(f"  - {reason['text']}  [{', '.join(reason['evidence'])}]")
    origin = inc.get("origin") or {}
    if origin.get("service"):
        via = f" via {origin['via']}" if origin.get("via") else ""
        lines.append(f"origin    {origin['service']} {origin['step']}{via} ({origin['status']})")
        path = " -> ".join(f"{p['service']}:{p['step']}" for p in origin.get("path", []))
        if path:
            lines.append(f"path      {path}")
    else:
        lines.append(f"origin    unknown ({origin.get('status_reason') or 'no trace data'})")
    if len(inc.get("families", [])) > 1:
        lines.append("families  " + ", ".join(_family(f) for f in inc["families"]))
    if inc.get("next_checks"):
        lines.append("next checks")
        for check in inc["next_checks"]:
            lines.append(f"  - {check['text']}  [{', '.join(check['evidence'])}]")
    if inc.get("sample_traces"):
        lines.append("traces    " + " ".join(inc["sample_traces"]))
    for t in inc.get("transitions", []):
        lines.append(f"  {t['at']}  {t['from'] or '-'} -> {t['to']}  ({t['reason']})")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
