"""The incident log's commands: the timeline (note, ack, assign, severity, resolve, reopen),
declare, the service catalog, follow-ups and the release gate, artifacts, postmortem,
similar incidents, digests, and backups. See docs/incident-log.md.

All but `backup` and `restore` talk to the server over HTTP like any client; those two act
on the local database file, as `migrate` and `keys` do.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from server.cli_support import call, client, fail, print_json, settings_or_exit, style, write_raw
from server.incidentlog.backup import BackupError, backup_sqlite, restore_sqlite, sqlite_path
from server.incidentlog.digest import previous_week

_SEVERITIES = click.Choice(["P1", "P2", "P3", "P4"])


def _incident_path(incident_id: str, *rest: str) -> str:
    return "/".join([f"/v1/incidents/{quote(incident_id, safe='')}", *rest])


def _post_entry(incident_id: str, payload: dict[str, Any], as_json: bool) -> dict[str, Any]:
    entry = call(client(settings_or_exit()).post_json, _incident_path(incident_id, "timeline"),
                 {k: v for k, v in payload.items() if v is not None})
    if as_json:
        print_json(entry)
    else:
        click.echo(f"{incident_id}: {entry['body']} ({entry['author']}, {entry['ts']})")
    return entry


_json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
_author_option = click.option("--author", help="Who (default: the API key's name).")


@click.command()
@click.argument("incident_id")
@click.argument("text")
@_author_option
@_json_option
def note(incident_id: str, text: str, author: str | None, as_json: bool) -> None:
    """Add a note to an incident's timeline."""
    _post_entry(incident_id, {"kind": "note", "body": text, "author": author}, as_json)


@click.command()
@click.argument("incident_id")
@click.argument("text")
@_author_option
@_json_option
def action(incident_id: str, text: str, author: str | None, as_json: bool) -> None:
    """Record something done about an incident (a rollback, a failover)."""
    _post_entry(incident_id, {"kind": "action", "body": text, "author": author}, as_json)


@click.command()
@click.argument("incident_id")
@click.option("--note", "text", help="A word to go with it.")
@_author_option
@_json_option
def ack(incident_id: str, text: str | None, author: str | None, as_json: bool) -> None:
    """Acknowledge an incident: say someone is on it."""
    _post_entry(incident_id, {"kind": "acknowledge", "body": text, "author": author}, as_json)


@click.command()
@click.argument("incident_id")
@click.option("--to", "to", required=True, help="Who takes it.")
@click.option("--note", "text", help="A word to go with it.")
@_author_option
@_json_option
def assign(incident_id: str, to: str, text: str | None, author: str | None, as_json: bool) -> None:
    """Assign an incident to someone."""
    _post_entry(incident_id, {"kind": "assign", "to": to, "body": text, "author": author}, as_json)


@click.command()
@click.argument("incident_id")
@click.argument("level", type=_SEVERITIES)
@click.option("--reason", help="Why (kept with the severity).")
@_author_option
@_json_option
def severity(incident_id: str, level: str, reason: str | None, author: str | None, as_json: bool) -> None:
    """Set an incident's severity by hand (kept over later derivations)."""
    _post_entry(incident_id, {"kind": "severity", "severity": level, "body": reason, "author": author}, as_json)


@click.command()
@click.argument("incident_id")
@click.option("--reason", required=True, help="Why it is resolved.")
@_author_option
@_json_option
def resolve(incident_id: str, reason: str, author: str | None, as_json: bool) -> None:
    """Resolve an incident by hand; the engine applies it at its next tick and keeps it."""
    _post_entry(incident_id, {"kind": "resolve", "reason": reason, "author": author}, as_json)


@click.command()
@click.argument("incident_id")
@click.option("--reason", help="Why it is open again.")
@_author_option
@_json_option
def reopen(incident_id: str, reason: str | None, author: str | None, as_json: bool) -> None:
    """Reopen an incident; the engine holds it active until someone resolves it."""
    _post_entry(incident_id, {"kind": "reopen", "reason": reason, "author": author}, as_json)


@click.command()
@click.argument("incident_id")
@_json_option
def timeline(incident_id: str, as_json: bool) -> None:
    """Show an incident's timeline, oldest first."""
    body = call(client(settings_or_exit()).get_json, _incident_path(incident_id, "timeline"))
    if as_json:
        print_json(body)
        return
    for e in body["entries"]:
        who = style(f"{e['author']:12}", bold=e["source"] == "person")
        click.echo(f"{e['ts']}  {who} {e['kind']:13} {e['body']}")


@click.command()
@click.option("--service", required=True, help="The service it is about.")
@click.option("--title", required=True, help="What is wrong, in a line.")
@click.option("--severity", "level", type=_SEVERITIES, help="P1..P4 (default: derived from the blast radius).")
@click.option("--env", help="The environment (default: where the service last failed, else production).")
@_author_option
@_json_option
def declare(service: str, title: str, level: str | None, env: str | None, author: str | None, as_json: bool) -> None:
    """Declare an incident by hand (a customer report, a security event)."""
    payload = {"service": service, "title": title, "severity": level, "env": env, "author": author}
    inc = call(client(settings_or_exit()).post_json, "/v1/incidents", {k: v for k, v in payload.items() if v})
    if as_json:
        print_json(inc)
        return
    click.echo(f"declared {inc['id']} ({inc['severity']}): {title}")


# -- the service catalog --------------------------------------------------------------------
@click.group()
def services() -> None:
    """The service catalog: owning team, runbook and channel of each service."""


@services.command("set")
@click.argument("name")
@click.option("--team", help="The owning team.")
@click.option("--runbook", help="The runbook's http(s) URL.")
@click.option("--channel", help="Where the team talks (e.g. #payments).")
@_json_option
def services_set(name: str, team: str | None, runbook: str | None, channel: str | None, as_json: bool) -> None:
    """Set a service's catalog entry (needs an admin key); options left out keep their value."""
    payload = {k: v for k, v in (("team", team), ("runbook_url", runbook), ("channel", channel)) if v is not None}
    entry = call(client(settings_or_exit()).put_json, f"/v1/services/{quote(name, safe='')}", payload)
    if as_json:
        print_json(entry)
        return
    click.echo(f"{entry['name']}: team {entry['team'] or '-'}, runbook {entry['runbook_url'] or '-'},"
               f" channel {entry['channel'] or '-'}")


@services.command("list")
@_json_option
def services_list(as_json: bool) -> None:
    """List the catalog."""
    body = call(client(settings_or_exit()).get_json, "/v1/services")
    if as_json:
        print_json(body)
        return
    if not body["services"]:
        click.echo("no catalog entries (onset services set NAME --team T --runbook URL --channel C)")
    for e in body["services"]:
        click.echo(f"{e['name']:20} team {e['team'] or '-':16} channel {e['channel'] or '-':16}"
                   f" runbook {e['runbook_url'] or '-'}")


# -- follow-ups and the release gate ---------------------------------------------------------
@click.group()
def followup() -> None:
    """Add or close a follow-up of an incident."""


@followup.command("add")
@click.argument("incident_id")
@click.option("--title", required=True, help="What must happen.")
@click.option("--owner", help="Who does it.")
@click.option("--due", help="YYYY-MM-DD (due by the end of that day, UTC) or an RFC 3339 time.")
@_author_option
@_json_option
def followup_add(incident_id: str, title: str, owner: str | None, due: str | None, author: str | None,
                 as_json: bool) -> None:
    """Add a follow-up to an incident."""
    payload = {k: v for k, v in (("title", title), ("owner", owner), ("due", due), ("author", author)) if v}
    created = call(client(settings_or_exit()).post_json, _incident_path(incident_id, "followups"), payload)
    if as_json:
        print_json(created)
        return
    click.echo(f"added {created['id']}: {created['title']}")


@followup.command("done")
@click.argument("followup_id")
@_author_option
@_json_option
def followup_done(followup_id: str, author: str | None, as_json: bool) -> None:
    """Mark a follow-up done."""
    payload = {"status": "done", **({"author": author} if author else {})}
    changed = call(client(settings_or_exit()).request, "PATCH", f"/v1/followups/{quote(followup_id, safe='')}",
                   json=payload).json()
    if as_json:
        print_json(changed)
        return
    click.echo(f"{changed['id']} done: {changed['title']}")


def followup_line(f: dict[str, Any]) -> str:
    flag = style("OVERDUE ", fg="red", bold=True) if f["overdue"] else ""
    due = f"due {f['due_date']}" if f.get("due_date") else "no due date"
    return (f"{f['id']}  {flag}{f['status']:5} {due:14} {f['service']:12} {f['incident_id']}  {f['title']}"
            f"  (owner {f['owner'] or 'nobody'})")


@click.command()
@click.option("--overdue", is_flag=True, help="Only open follow-ups past their due date.")
@click.option("--service", help="Only follow-ups of this service's incidents.")
@click.option("--status", type=click.Choice(["open", "done"]), help="Only open or done ones.")
@_json_option
def followups(overdue: bool, service: str | None, status: str | None, as_json: bool) -> None:
    """List follow-ups, soonest due first."""
    body = call(client(settings_or_exit()).get_json, "/v1/followups", overdue="true" if overdue else None,
                service=service, status=status)
    if as_json:
        print_json(body)
        return
    if not body["followups"]:
        click.echo("no overdue follow-ups" if overdue else "no follow-ups")
    for f in body["followups"]:
        click.echo(followup_line(f))


@click.command()
@click.option("--service", required=True, help="The service about to ship.")
@click.option("--warn-only", is_flag=True, help="Print why it would block, but exit 0.")
@_json_option
def gate(service: str, warn_only: bool, as_json: bool) -> None:
    """Release gate for CI/CD: exits 1 while the service has an open P1/P2 incident or an overdue
    follow-up, printing why (--warn-only prints and exits 0)."""
    verdict = call(client(settings_or_exit()).get_json, "/v1/gate", service=service)
    if as_json:
        print_json(verdict)
    elif verdict["blocked"]:
        click.echo(f"onset gate: {service} is held{' (warn only)' if warn_only else ''}:", err=True)
        for reason in verdict["reasons"]:
            click.echo(f"  - {reason}", err=True)
    else:
        click.echo(f"onset gate: {service} may ship: no open P1/P2 incident, no overdue follow-up")
    sys.exit(1 if verdict["blocked"] and not warn_only else 0)


# -- artifacts, postmortem, similar, digest --------------------------------------------------
MAX_UPLOAD = 2 * 1024 * 1024


@click.command()
@click.argument("incident_id")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="The name to keep it under (default: the file's).")
@_json_option
def attach(incident_id: str, path: Path, name: str | None, as_json: bool) -> None:
    """Attach a Markdown, JSON or text file (at most 2 MB) to an incident."""
    size = path.stat().st_size
    if size > MAX_UPLOAD:
        fail(f"{path} is {size} bytes; an artifact is at most {MAX_UPLOAD} bytes")
    types = {".md": "text/markdown", ".markdown": "text/markdown", ".json": "application/json"}
    with open(path, "rb") as body:
        saved = call(client(settings_or_exit()).request, "POST", _incident_path(incident_id, "artifacts"),
                     params={"name": name or path.name}, data=body,
                     headers={"Content-Type": types.get(path.suffix.lower(), "text/plain")}).json()
    if as_json:
        print_json(saved)
        return
    click.echo(f"attached {saved['id']}: {saved['name']} ({saved['content_type']}, {saved['size']} bytes,"
               f" sha256 {saved['sha256']})")


@click.command()
@click.argument("incident_id")
@click.argument("artifact_id", required=False)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the file here.")
@_json_option
def artifacts(incident_id: str, artifact_id: str | None, output: Path | None, as_json: bool) -> None:
    """List an incident's artifacts, or download one (ARTIFACT_ID, to -o FILE or stdout)."""
    api = client(settings_or_exit())
    if artifact_id:
        body = call(api.get_bytes, _incident_path(incident_id, "artifacts", quote(artifact_id, safe="")))
        if output:
            output.write_bytes(body)
        else:
            write_raw(body)
        return
    listed = call(api.get_json, _incident_path(incident_id, "artifacts"))
    if as_json:
        print_json(listed)
        return
    if not listed["artifacts"]:
        click.echo("no artifacts")
    for a in listed["artifacts"]:
        click.echo(f"{a['id']}  {a['name']:30} {a['content_type']:16} {a['size']:>8} B  {a['author']}  {a['created_at']}")


@click.command()
@click.argument("incident_id")
def postmortem(incident_id: str) -> None:
    """Print a postmortem draft in Markdown (`onset postmortem ID > pm.md`)."""
    write_raw(call(client(settings_or_exit()).get_bytes, _incident_path(incident_id, "postmortem")))


@click.command()
@click.argument("incident_id")
@_json_option
def similar(incident_id: str, as_json: bool) -> None:
    """List similar past incidents, each with its score and the reason."""
    body = call(client(settings_or_exit()).get_json, _incident_path(incident_id, "similar"))
    if as_json:
        print_json(body)
        return
    if not body["similar"]:
        click.echo("no similar past incidents")
    for s in body["similar"]:
        click.echo(f"{s['id']}  score {s['score']:.2f}  {s['state']:10} cause {s['cause']:10} onset {s['onset']}")
        click.echo(f"    {s['reason']}")


@click.command()
@click.option("--week", help="ISO week, e.g. 2026-W47 (default: last week).")
@_json_option
def digest(week: str | None, as_json: bool) -> None:
    """Print a week's digest: incidents by service, cause and severity; response times;
    recurrences; overdue follow-ups; services that went silent."""
    if week is None:
        week = previous_week(time.time())
    body = call(client(settings_or_exit()).get_bytes, f"/v1/digests/{quote(week, safe='')}",
                format="json" if as_json else "markdown")
    write_raw(body)


# -- backups (local database, like `onset migrate`) -----------------------------------------
@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def backup(path: Path, force: bool) -> None:
    """Copy the SQLite database consistently while the server runs (SQLite's online backup API)."""
    settings = settings_or_exit()
    try:
        info = backup_sqlite(sqlite_path(settings.resolved_database_url), path, overwrite=force)
    except BackupError as exc:
        fail(str(exc))
    click.echo(f"backed up to {info.path}: {info.bytes} bytes, {info.incidents} incidents, {info.events} events,"
               f" schema {info.migrations} migrations, in {info.seconds:.2f}s")


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(path: Path) -> None:
    """Replace the SQLite database with a backup; refuses while the database is in use."""
    settings = settings_or_exit()
    try:
        target = sqlite_path(settings.resolved_database_url)
        info = restore_sqlite(path, target, time.time())
    except BackupError as exc:
        fail(str(exc))
    click.echo(f"restored {target} from {path}: {info.incidents} incidents, {info.events} events;"
               " start the server (it applies any newer migrations)")


COMMANDS = (note, action, ack, assign, severity, resolve, reopen, timeline, declare, services, followup, followups,
            gate, attach, artifacts, postmortem, similar, digest, backup, restore)


def register(main: click.Group) -> None:
    for command in COMMANDS:
        main.add_command(command)


def response_lines(inc: dict[str, Any]) -> list[str]:
    """`onset incident`'s lines on who is on it: severity, acknowledged, assignee, owner."""
    lines = []
    if inc.get("title"):
        lines.append(f"title     {inc['title']} (declared by {inc.get('declared_by')})")
    if inc.get("severity"):
        how = "set by " + (inc.get("severity_by") or "hand") if inc.get("severity_source") == "manual" else "derived"
        lines.append(f"severity  {inc['severity']} ({how}: {inc.get('severity_reason')})")
    ack = f"{inc['acknowledged_by']} at {inc['acknowledged_at']}" if inc.get("acknowledged_by") else "nobody yet"
    lines.append(f"acked     {ack}")
    lines.append(f"assignee  {inc.get('assignee') or 'nobody'}")
    owner = inc.get("owner") or {}
    if owner:
        facts = [f"team {owner['team']}" if owner.get("team") else None,
                 f"runbook {owner['runbook_url']}" if owner.get("runbook_url") else None,
                 f"channel {owner['channel']}" if owner.get("channel") else None]
        lines.append("owner     " + ", ".join(f for f in facts if f))
    if inc.get("manual_state") and inc.get("manual_state") != inc.get("state"):
        lines.append(f"pending   {inc['manual_state']} by {inc.get('manual_by')} (the engine applies it at its"
                     " next tick)")
    if inc.get("follows"):
        lines.append(f"follows   {inc['follows']} (resolved by hand; the failure came back)")
    return lines
