"""The `onset` command line.

Server-side commands (`serve`, `engine`, `migrate`, `keys`) act on the local database;
everything else talks to the server over HTTP with ONSET_URL and ONSET_API_KEY.
Exit codes: 0 ok, 1 error, 2 usage (including a bad ONSET_ setting).
"""

from __future__ import annotations

import signal
import sys
import time
from typing import Any
from urllib.parse import quote

import click
import orjson

from demo.firstrun import first_run as run_first_run
from demo.scenarios import DEFAULT_SCENARIO, SCENARIOS
from server import cli_agents, cli_log
from server.bootstrap import prepare
from server.cli_log import response_lines
from server.cli_support import call, client, color, fail, print_json, settings_or_exit, style, write_raw
from server.config import ConfigError, Settings, load_settings
from server.doctor import failed, run_doctor
from server.engine.runner import EngineRunner
from server.serve import GunicornServer
from server.store import keys as key_store
from server.store import migrate as migrations
from server.store.db import close_database, open_database
from server.store.keys import SCOPES
from server.triage.render import FORMATS as REPORT_FORMATS
from server.triage.render.story import render_story

# Shared with the incident log's commands (server.cli_log).
_settings = settings_or_exit
_color, _style, _fail, _print_json, _client, _call = color, style, fail, print_json, client, call


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


_CHECK_COLORS = {"ok": "green", "warn": "yellow", "fail": "red"}


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--server", "server_url", help="Also check a running server's endpoints (e.g. ONSET_URL).")
@click.option("--key", "api_key", help="The key for the authenticated check (default ONSET_API_KEY).")
def doctor(as_json: bool, server_url: str | None, api_key: str | None) -> None:
    """Check configuration, data dir, database, migrations, engine, keys and report hashes;
    with --server, the live endpoints. Exits 1 when any check fails."""
    checks = run_doctor(server=server_url, api_key=api_key)
    if as_json:
        _print_json({"ok": not failed(checks), "checks": [c.as_dict() for c in checks]})
    else:
        for c in checks:
            mark = _style(f"{c.status:4}", fg=_CHECK_COLORS[c.status], bold=c.status != "ok")
            click.echo(f"{mark}  {c.name:18} {c.detail}")
            if c.fix:
                click.echo(f"      {'':18} -> {c.fix}")
    sys.exit(1 if failed(checks) else 0)


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
        who = f"  ack {inc['acknowledged_by']}" if inc.get("acknowledged_by") else ""
        click.echo(f"{inc['id']}  {st} {inc.get('severity') or '--':3} {inc['cause']:10} {inc['confidence']:6}"
                   f" {_family(inc['family'])}  onset {inc['onset']}{who}")


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


_write_raw = write_raw


@main.command()
@click.argument("incident_id")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON, byte for byte as GET /v1/triage/ID.")
@click.option("--format", "fmt", type=click.Choice(list(REPORT_FORMATS)), default="text", show_default=True,
              help="How to render the report.")
def triage(incident_id: str, as_json: bool, fmt: str) -> None:
    """Print an incident's triage report: cause, origin, blast, changes, next checks, evidence."""
    client = _client(_settings())
    path = f"/v1/triage/{quote(incident_id, safe='')}"
    body = _call(client.get_bytes, path) if as_json else _call(client.get_bytes, path + "/report", format=fmt)
    _write_raw(body)


@main.command()
@click.argument("trace_id")
@click.option("--json", "as_json", is_flag=True, help="The story as JSON, as GET /v1/traces/ID returns it.")
def explain(trace_id: str, as_json: bool) -> None:
    """Tell one request's story: its spans in causal order, where it failed."""
    client = _client(_settings())
    body = _call(client.get_bytes, f"/v1/traces/{quote(trace_id, safe='')}")
    if as_json:
        _write_raw(body)
        return
    click.echo(render_story(orjson.loads(body)), nl=False)


def render_incident_text(inc: dict[str, Any], style=lambda text, **_: text) -> str:
    lines = [
        style(inc["id"], bold=True) + "  " + style(inc["state"], fg=_STATE_COLORS.get(inc["state"])),
        f"family    {_family(inc['family'])} ({inc['family']['env']})",
        f"onset     {inc['onset']}",
        f"cause     {inc['cause']} ({inc['confidence']} confidence)",
    ]
    lines += response_lines(inc)
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


@main.command("first-run")
@click.option("--scenario", type=click.Choice(sorted(SCENARIOS)), default=DEFAULT_SCENARIO, show_default=True,
              help="The fault to inject (see demo/README.md).")
@click.option("--keep-serving", is_flag=True,
              help="Then keep the server up and print the dashboard's address and key, until Ctrl-C.")
def first_run(scenario: str, keep_serving: bool) -> None:
    """Start a throwaway server and the demo shop, inject a fault, print the incident Onset opens."""
    sys.exit(run_first_run(scenario, say=click.echo, render=lambda inc: render_incident_text(inc, _style),
                           keep_serving=keep_serving))


# -- notifications and health (docs/notifications.md, docs/sentinel.md) --------------------
@main.group()
def channels() -> None:
    """Notification channels: Slack, webhook, PagerDuty (needs an admin key)."""


@channels.command("add")
@click.argument("channel_type", metavar="TYPE", type=click.Choice(["slack", "webhook", "pagerduty"]))
@click.option("--url", help="Incoming webhook URL (slack), receiver URL (webhook), Events API URL (pagerduty).")
@click.option("--name", help="A name to recognise the channel by.")
@click.option("--secret", help="webhook: sign each body with HMAC-SHA256 (X-Onset-Signature).")
@click.option("--routing-key", help="pagerduty: the integration's routing key.")
@click.option("--service", "services", multiple=True, help="Only these services (repeat for several).")
@click.option("--env", "envs", multiple=True, help="Only these envs.")
@click.option("--severity", "severities", multiple=True, help="Only these severities (critical, warning, P1..P4).")
@click.option("--cause", "causes", multiple=True, help="Only these causes (or health alert keys).")
@click.option("--event", "events", multiple=True, help="Only these events (opened, resolved, raised, ...).")
@click.option("--team", "teams", multiple=True, help="Only services these teams own (onset services set).")
@click.option("--json", "as_json", is_flag=True)
def channels_add(channel_type: str, url: str | None, name: str | None, secret: str | None, routing_key: str | None,
                 services: tuple[str, ...], envs: tuple[str, ...], severities: tuple[str, ...],
                 causes: tuple[str, ...], events: tuple[str, ...], teams: tuple[str, ...], as_json: bool) -> None:
    """Add a channel; the filters make its one routing rule (none: every notice)."""
    rule = {k: list(v) for k, v in (("service", services), ("env", envs), ("severity", severities),
                                     ("cause", causes), ("events", events), ("team", teams)) if v}
    body = {"type": channel_type, "url": url, "name": name, "secret": secret, "routing_key": routing_key,
            "rules": [rule] if rule else []}
    channel = _call(_client(_settings()).post_json, "/v1/channels", {k: v for k, v in body.items() if v is not None})
    if as_json:
        _print_json(channel)
        return
    click.echo(f"added {channel['id']} ({channel['type']} {channel['name']})")


@channels.command("list")
@click.option("--json", "as_json", is_flag=True)
def channels_list(as_json: bool) -> None:
    """List live channels (URLs and secrets are never shown)."""
    body = _call(_client(_settings()).get_json, "/v1/channels")
    if as_json:
        _print_json(body)
        return
    if not body["channels"]:
        click.echo("no channels")
    for c in body["channels"]:
        rules = "; ".join(", ".join(f"{k}={'|'.join(v)}" for k, v in r.items()) for r in c["rules"]) or "everything"
        click.echo(f"{c['id']}  {c['type']:9} {c['name']:20} {c['url']}  rules: {rules}")


@channels.command("remove")
@click.argument("channel_id")
def channels_remove(channel_id: str) -> None:
    """Remove a channel: it takes nothing new; its queued notifications are marked failed."""
    _call(_client(_settings()).delete, f"/v1/channels/{quote(channel_id, safe='')}")
    click.echo(f"removed {channel_id}")


_NOTIFY_COLORS = {"delivered": "green", "failed": "red", "pending": "yellow", "sending": "yellow"}


@main.command()
@click.option("--state", type=click.Choice(["pending", "sending", "delivered", "failed", "all"]), default="all")
@click.option("--incident", help="Only the notifications of this incident (or health alert).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50)
@click.option("--json", "as_json", is_flag=True)
def notifications(state: str, incident: str | None, limit: int, as_json: bool) -> None:
    """List notifications, newest first, with their attempts."""
    body = _call(_client(_settings()).get_json, "/v1/notifications", state=state, incident=incident, limit=limit)
    if as_json:
        _print_json(body)
        return
    if not body["notifications"]:
        click.echo("no notifications")
    for n in body["notifications"]:
        st = _style(f"{n['state']:9}", fg=_NOTIFY_COLORS.get(n["state"]))
        last = f"  last: {n['last_reason']}" + (f" ({n['last_error']})" if n["last_error"] else "") \
            if n["last_reason"] else ""
        click.echo(f"{n['event_at']}  {st} {n['channel_type']:9} {n['attempts']:>2}x  {n['summary']}{last}")


_HEALTH_COLORS = {"critical": "red", "warning": "yellow", "unknown": "red", "ok": "green"}


@main.group(invoke_without_command=True)
@click.option("--state", type=click.Choice(["active", "cleared", "all"]), default="active")
@click.option("--services", "show_services", is_flag=True, help="Each service's health instead of the alerts.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def health(ctx: click.Context, state: str, show_services: bool, as_json: bool) -> None:
    """The sentinel's health alerts (default: active ones); `onset health act ID --yes` runs a safe action."""
    if ctx.invoked_subcommand is not None:
        return
    client = _client(_settings())
    if show_services:
        body = _call(client.get_json, "/v1/health/services")
        if as_json:
            _print_json(body)
            return
        for s in body["services"]:
            mark = _style(f"{s['health']:8}", fg=_HEALTH_COLORS.get(s["health"]), bold=s["health"] != "ok")
            click.echo(f"{mark} {s['service']} ({s['env']})  last seen {s['last_seen']}"
                       + (f"  {s['reason']}" if s["reason"] else ""))
        return
    body = _call(client.get_json, "/v1/health/alerts", state=state)
    if as_json:
        _print_json(body)
        return
    if not body["health_alerts"]:
        click.echo(f"no {'' if state == 'all' else state + ' '}health alerts")
    for a in body["health_alerts"]:
        sev = _style(f"{a['severity']:8}", fg=_HEALTH_COLORS.get(a["severity"]), bold=a["state"] == "active")
        stale = f"  stale {a['staleness_seconds']:.0f}s" if a["staleness_seconds"] is not None else ""
        cleared = f"  cleared {a['cleared_at']}" if a["cleared_at"] else ""
        click.echo(f"{a['id']}  {sev} {a['key']:17} {a['scope']}  raised {a['raised_at']}{cleared}{stale}")
        click.echo(f"    {a['reason']}")


@health.command("act")
@click.argument("alert_id")
@click.option("--yes", "confirmed", is_flag=True, help="Confirm: run the action configured for the alert's key.")
def health_act(alert_id: str, confirmed: bool) -> None:
    """Run the safe action configured for a health alert's key (needs a respond key)."""
    if not confirmed:
        _fail("a safe action runs only when confirmed: add --yes")
    run = _call(_client(_settings()).post_json, f"/v1/health/alerts/{quote(alert_id, safe='')}/action",
                {"confirm": True})
    answer = f"HTTP {run['status_code']}" if run["status_code"] is not None else f"no answer: {run['error']}"
    click.echo(f"{run['label']}: {answer}")
    if not run["ok"]:
        sys.exit(1)


@main.command()
@click.argument("source")
@click.option("--interval", "interval_s", type=float, required=True, help="Seconds between beats.")
@click.option("--after", help="The upstream stage (heartbeat source or service) this one follows.")
def heartbeat(source: str, interval_s: float, after: str | None) -> None:
    """Send one heartbeat for a pipeline stage (run it from the stage's schedule)."""
    body = {"source": source, "interval_s": interval_s, **({"after": after} if after else {})}
    beat = _call(_client(_settings()).post_json, "/v1/heartbeats", body)
    click.echo(f"{beat['source']}: beat {beat['beats']}, late after {beat['late_after']}")


cli_log.register(main)  # note, ack, assign, resolve, declare, followups, gate, postmortem, digest, backup...
cli_agents.register(main)  # mcp, capabilities (docs/agents.md)

if __name__ == "__main__":
    main()
