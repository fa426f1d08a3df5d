"""`onset doctor`: is this installation healthy, and if not, what to do.

Each check returns a `Check` (ok, warn or fail, what was found, what to do). The local
checks read the configuration, the data dir and the database; with a server URL, the
live ones ask the running server over HTTP like any client. Nothing here changes state:
the doctor writes one temporary file to test the data dir, and removes it.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

from server.config import ConfigError, Settings, load_settings
from server.health import STALE_TICKS
from server.ratelimit import open_storage, rates_of
from server.store import db as store
from server.store import incidents, keys, lease, migrate
from server.triage.lookup import report_for

OK, WARN, FAIL = "ok", "warn", "fail"
HTTP_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _ok(name: str, detail: str) -> Check:
    return Check(name, OK, detail)


# -- configuration and files ----------------------------------------------------------------
def check_configuration(environ: Mapping[str, str] | None) -> tuple[Check, Settings | None]:
    try:
        settings = load_settings(environ)
    except ConfigError as exc:
        return Check("configuration", FAIL, str(exc), "fix the variable (see docs/configuration.md)"), None
    return _ok("configuration", f"profile {settings.profile}, {len(_explicit(environ))} ONSET_ variables set"), settings


def _explicit(environ: Mapping[str, str] | None) -> list[str]:
    return [k for k in (os.environ if environ is None else environ) if k.startswith("ONSET_")]


def _postgres(settings: Settings) -> bool:
    return not settings.resolved_database_url.startswith("sqlite")


def check_durability(settings: Settings) -> Check:
    if not _postgres(settings) and settings.sqlite_synchronous != "FULL":
        return Check("durability", WARN, "ONSET_SQLITE_SYNCHRONOUS=NORMAL: an acknowledged event survives a crash"
                     " but not a power loss", "set ONSET_SQLITE_SYNCHRONOUS=FULL in production")
    return _ok("durability", "PostgreSQL" if _postgres(settings) else "SQLite with synchronous=FULL")


def check_data_dir(settings: Settings) -> Check:
    path = Path(settings.data_dir)
    if not path.exists():
        parent = next((p for p in path.resolve().parents if p.exists()), None)
        if parent is not None and os.access(parent, os.W_OK):
            return _ok("data dir", f"{path} does not exist yet; onset serve creates it")
        return Check("data dir", FAIL, f"{path} does not exist and cannot be created",
                     "create it, or point ONSET_DATA_DIR at a writable directory")
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-", delete=True) as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        return Check("data dir", FAIL, f"{path} is not writable: {exc.strerror or exc}",
                     "give the server's user write access, or point ONSET_DATA_DIR elsewhere")
    return _ok("data dir", f"{path.resolve()} is writable")


def check_rate_limits(settings: Settings) -> Check:
    rates = {scope: rps for scope, rps in rates_of(settings).items() if rps > 0}
    shared = _postgres(settings)  # PostgreSQL: likely several hosts behind a load balancer
    if not rates:
        hint = "" if settings.profile == "prod" else "; ONSET_PROFILE=prod turns them on"
        fix = "set ONSET_PROFILE=prod or the ONSET_RATELIMIT_INGEST_RPS, _READ_RPS and _AGENT_RPS limits"
        return Check("rate limits", WARN if shared else OK, f"off{hint}", fix if shared else "")
    shown = ", ".join(f"{scope} {rps:g}/s" for scope, rps in rates.items())
    if settings.ratelimit_storage.startswith("memory://"):
        if shared:
            return Check("rate limits", WARN, f"{shown} per key, counted in each worker's memory: every worker and"
                         " host has its own budget", "set ONSET_RATELIMIT_STORAGE=redis://... to share one budget")
        return _ok("rate limits", f"{shown} per key and worker process ({settings.workers} workers)")
    try:
        reachable = bool(open_storage(settings.ratelimit_storage).check())
    except Exception as exc:
        reachable, shown = False, f"{shown} ({type(exc).__name__})"
    if not reachable:
        return Check("rate limits", FAIL, f"{shown}: the storage {_redact(settings.ratelimit_storage)} does not"
                     " answer, so no limit holds (requests pass)", "start Redis or fix ONSET_RATELIMIT_STORAGE")
    return _ok("rate limits", f"{shown} per key, shared through {_redact(settings.ratelimit_storage)}")


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url


# -- the database --------------------------------------------------------------------------
def check_database(settings: Settings) -> Check:
    url = settings.resolved_database_url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return Check("database", FAIL, f"no database at {url[len('sqlite:///'):]}",
                     "start `onset serve` once (it creates it), or set ONSET_DATA_DIR / ONSET_DATABASE_URL")
    try:
        store.open_database(url, synchronous=settings.sqlite_synchronous)
        store.fetchone("SELECT 1")
    except Exception as exc:
        return Check("database", FAIL, f"cannot reach {_redact(url)}: {type(exc).__name__}: {exc}".strip(),
                     "check ONSET_DATABASE_URL and that the database server runs")
    return _ok("database", f"{'PostgreSQL' if store.is_postgres() else 'SQLite'} at {_redact(url)} answers")


def check_migrations() -> Check:
    statuses = migrate.status()
    pending = [f"{s.version:04d}_{s.name}" for s in statuses if s.applied_at is None]
    if pending:
        return Check("migrations", FAIL, f"pending: {', '.join(pending)}", "run `onset migrate` (or restart onset serve)")
    return _ok("migrations", f"all {len(statuses)} applied")


def check_engine(settings: Settings, now: float) -> Check:
    state = lease.state()
    if state.last_tick_at is None:
        return Check("engine", WARN, "the engine has never ticked",
                     "start `onset serve` (ONSET_ENGINE_ENABLED=true) or `onset engine`")
    age = now - state.last_tick_at
    limit = STALE_TICKS * settings.tick_seconds
    if age > limit:
        return Check("engine", FAIL, f"last tick {age:.0f}s ago (more than {STALE_TICKS} ticks), lease holder"
                     f" {state.holder or 'none'}", "check that a server runs with the engine on, and its log")
    return _ok("engine", f"leader {state.holder}, last tick {age:.1f}s ago, took {state.last_tick_ms or 0:.0f} ms")


def check_keys(settings: Settings) -> Check:
    live = keys.count_live_keys()
    if live == 0:
        return Check("keys", FAIL, "no live API key", "start `onset serve` (it creates an admin key) or run"
                     " `onset keys create --scope admin --name NAME`")
    weak = [(name, problem) for name, key in (("ONSET_BOOTSTRAP_KEY", settings.bootstrap_key),
                                              ("ONSET_API_KEY", settings.api_key))
            if key and (problem := keys.weakness(key))]
    if weak:
        return Check("keys", FAIL, "; ".join(f"{name} looks like a placeholder ({why})" for name, why in weak),
                     "use a random key of 32+ characters (`onset keys create`), then revoke the weak one")
    return _ok("keys", f"{live} live key(s); the keys in this environment are not weak")


def check_report_hash() -> tuple[Check, str | None]:
    """Build the newest incident's report twice: the same state must give the same hash."""
    sample = incidents.list_incidents(limit=1)
    if not sample:
        return _ok("report hash", "no incident to sample yet"), None
    incident_id = sample[0]["id"]
    first, second = report_for(incident_id), report_for(incident_id)
    if first is None or second is None:
        return _ok("report hash", f"{incident_id} went away while sampled"), None
    if first["report_hash"] != second["report_hash"]:
        return Check("report hash", FAIL, f"{incident_id}: two builds gave {first['report_hash'][:12]} and"
                     f" {second['report_hash'][:12]}", "a report field is not deterministic: report a bug"), None
    return _ok("report hash", f"{incident_id}: stable ({first['report_hash'][:12]})"), incident_id


# -- the live server -------------------------------------------------------------------------
Get = Callable[..., requests.Response]


def check_server(url: str, api_key: str | None, sample_incident: str | None, local_hash: str | None = None,
                 get: Get = requests.get) -> list[Check]:
    """/livez, /readyz and an authenticated GET on the server at `url`."""
    base = url.rstrip("/")
    try:
        live = get(base + "/livez", timeout=HTTP_TIMEOUT)
    except requests.RequestException as exc:
        return [Check("server", FAIL, f"cannot reach {base}: {type(exc).__name__}",
                      "start `onset serve`, or pass the right --server URL")]
    found = [_ok("server /livez", f"{base} answers") if live.status_code == 200 else
             Check("server /livez", FAIL, f"{base}/livez answered {live.status_code}", "read the server log")]
    ready = get(base + "/readyz", timeout=HTTP_TIMEOUT)
    if ready.status_code == 200:
        leader = (_json(ready).get("checks", {}).get("engine", {}) or {}).get("leader")
        found.append(_ok("server /readyz", f"ready, engine leader {leader}"))
    else:
        failing = {name: c.get("reason") for name, c in _json(ready).get("checks", {}).items() if not c.get("ok")}
        found.append(Check("server /readyz", FAIL, f"not ready ({ready.status_code}): "
                           + "; ".join(f"{k}: {v}" for k, v in failing.items()),
                           "fix what the failing check names (engine: is a leader ticking?)"))
    if not api_key:
        found.append(Check("server auth", WARN, "no key to try an authenticated request",
                           "set ONSET_API_KEY (a read key) or pass --key"))
        return found
    headers = {"Authorization": f"Bearer {api_key}"}
    answer = get(base + "/v1/incidents", params={"limit": 1}, headers=headers, timeout=HTTP_TIMEOUT)
    if answer.status_code != 200:
        message = (_json(answer).get("error") or {}).get("message", answer.text[:100])
        found.append(Check("server auth", FAIL, f"GET /v1/incidents answered {answer.status_code}: {message}",
                           "use a live key with the read scope"))
        return found
    found.append(_ok("server auth", "GET /v1/incidents with the key answers 200"))
    if sample_incident and local_hash:
        served = get(f"{base}/v1/triage/{sample_incident}", headers=headers, timeout=HTTP_TIMEOUT)
        served_hash = served.headers.get("X-Onset-Report-Hash")
        if served.status_code == 200 and served_hash != local_hash:
            found.append(Check("server report hash", WARN, f"{sample_incident}: the server's hash"
                               f" {str(served_hash)[:12]} differs from the local {local_hash[:12]}",
                               "the incident may have changed in between; run again, else report a bug"))
        elif served.status_code == 200:
            found.append(_ok("server report hash", f"{sample_incident}: the server serves the same hash"))
    return found


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# -- all of it -------------------------------------------------------------------------------
def run_doctor(environ: Mapping[str, str] | None = None, server: str | None = None,
               api_key: str | None = None, now: float | None = None) -> list[Check]:
    """Every check, in order; a check that needs what failed before it is left out."""
    now = time.time() if now is None else now
    config, settings = check_configuration(environ)
    found = [config]
    if settings is None:
        return found
    found += [check_durability(settings), check_data_dir(settings), check_rate_limits(settings)]
    database = check_database(settings)
    found.append(database)
    sample, local_hash = None, None
    if database.status != FAIL:
        try:
            found.append(check_migrations())
            if found[-1].status != FAIL:
                found += [check_engine(settings, now), check_keys(settings)]
                hash_check, sample = check_report_hash()
                found.append(hash_check)
                if sample:
                    local_hash = (report_for(sample) or {}).get("report_hash")
        finally:
            store.close_database()
    if server:
        found += check_server(server, api_key or settings.api_key, sample, local_hash)
    return found


def failed(checks: list[Check]) -> bool:
    return any(c.status == FAIL for c in checks)
