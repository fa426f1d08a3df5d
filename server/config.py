"""Every ONSET_ setting, declared once as a table, parsed and validated once.

Nothing else in the server reads the environment: callers get a frozen `Settings`
from `load_settings()` and pass it down. `docs/configuration.md` documents each row
(a test fails when one is missing).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from server.engine.severity import SeverityRules, Threshold, parse_rule


class ConfigError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be greater than 0")
    return value


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 1:
        raise ValueError("must be between 0 and 1")
    return value


def _database_url(raw: str) -> str:
    if not raw.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ValueError("must start with sqlite:/// or postgresql://")
    return raw


def _bind(raw: str) -> str:
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be HOST:PORT")
    return raw


def _synchronous(raw: str) -> str:
    value = raw.upper()
    if value not in {"FULL", "NORMAL"}:
        raise ValueError("must be FULL or NORMAL")
    return value


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _percentile(raw: str) -> int:
    value = int(raw)
    if value not in (95, 99):
        raise ValueError("must be 95 or 99")
    return value


def _text(raw: str) -> str:
    return raw


_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(raw: str) -> float:
    """Seconds from `3600`, `90s`, `15m`, `24h` or `7d`; 0 means never."""
    text = raw.strip().lower()
    unit = text[-1:] if text[-1:] in _DURATION_UNITS and not text[-1:].isdigit() else ""
    number = text[:-1] if unit else text
    try:
        value = float(number) * _DURATION_UNITS[unit]
    except ValueError:
        raise ValueError("must be a duration like 3600, 90s, 15m, 24h or 7d (0: never)") from None
    if value < 0 or value != value:
        raise ValueError("must be 0 or more")
    return value


def _non_negative_float_or_off(raw: str) -> float:
    return 0.0 if raw.strip().lower() in ("off", "") else _non_negative_float(raw)


def _ratelimit_storage(raw: str) -> str:
    if not raw.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
        raise ValueError("must be memory:// or a redis:// URL")
    return raw


def _severity_rule(raw: str) -> tuple[Threshold, ...]:
    return parse_rule(raw)


def _profile(raw: str) -> str:
    value = raw.strip().lower()
    if value not in PROFILES:
        raise ValueError(f"must be one of {', '.join(PROFILES)}")
    return value


LLM_PROVIDERS = ("none", "openai-compatible", "anthropic")


def _llm_provider(raw: str) -> str:
    value = raw.strip().lower()
    if value not in LLM_PROVIDERS:
        raise ValueError(f"must be one of {', '.join(LLM_PROVIDERS)}")
    return value


def _http_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return raw.rstrip("/")


@dataclass(frozen=True)
class Setting:
    env: str
    attr: str
    default: str | None
    parse: Callable[[str], Any]
    help: str


# The contract: names here are relied on by scripts and docs outside the code.
SETTINGS: tuple[Setting, ...] = (
    Setting("ONSET_DATA_DIR", "data_dir", "./data", _text,
            "Where the embedded SQLite database and other files live."),
    Setting("ONSET_DATABASE_URL", "database_url", None, _database_url,
            "sqlite:///path or postgresql://user@host/db. Unset: SQLite at <data dir>/onset.db."),
    Setting("ONSET_SQLITE_SYNCHRONOUS", "sqlite_synchronous", "FULL", _synchronous,
            "SQLite durability: FULL survives power loss (one fsync per commit); NORMAL survives "
            "a process crash (kill -9) only."),
    Setting("ONSET_BIND", "bind", "127.0.0.1:8080", _bind, "Address and port of `onset serve`."),
    Setting("ONSET_WORKERS", "workers", "2", _positive_int, "gunicorn worker processes."),
    Setting("ONSET_ENGINE_ENABLED", "engine_enabled", "true", _boolean,
            "Run the engine inside `onset serve` (it ticks only while holding the lease)."),
    Setting("ONSET_WINDOW_SECONDS", "window_seconds", "60", _positive_float,
            "Detection window; may be fractional for tests and demos."),
    Setting("ONSET_TICK_SECONDS", "tick_seconds", "10", _positive_float,
            "Engine tick interval, also the counter bucket size; may be fractional."),
    Setting("ONSET_MIN_COUNT", "min_count", "5", _positive_int,
            "Errors a family needs in the window to spike."),
    Setting("ONSET_LIFT", "lift", "3", _positive_float,
            "Times the baseline (median of the three prior windows) a window needs to spike."),
    Setting("ONSET_MIN_ERROR_RATE", "min_error_rate", "0", _fraction,
            "Optional minimum error rate (errors / requests of the step) for a spike; 0 turns it off."),
    Setting("ONSET_RESOLVE_AFTER_SECONDS", "resolve_after_seconds", "300", _non_negative_float,
            "Quiet time before a recovering incident becomes resolved."),
    Setting("ONSET_CHANGE_LOOKBACK_SECONDS", "change_lookback_seconds", "1800", _positive_float,
            "How long before the onset a deploy or dependency signal can still be the cause."),
    Setting("ONSET_RUNTIME_LOOKBACK_SECONDS", "runtime_lookback_seconds", "300", _positive_float,
            "How long before the onset a crash or restart can still be the cause."),
    Setting("ONSET_LEASE_SECONDS", "lease_seconds", "30", _positive_float,
            "Engine lease time-to-live: a dead leader is replaced after at most this long."),
    # -- notifications (docs/notifications.md) --
    Setting("ONSET_NOTIFY_ENABLED", "notify_enabled", "true", _boolean,
            "Run the notification delivery worker beside the engine (it delivers only while its engine leads)."),
    Setting("ONSET_NOTIFY_TIMEOUT_SECONDS", "notify_timeout_seconds", "10", _positive_float,
            "Time limit of one delivery attempt (connect and answer)."),
    Setting("ONSET_NOTIFY_BACKOFF_SECONDS", "notify_backoff_seconds", "2", _positive_float,
            "Delay before the first retry of a failed delivery; it doubles per attempt, with jitter."),
    Setting("ONSET_NOTIFY_MAX_BACKOFF_SECONDS", "notify_max_backoff_seconds", "300", _positive_float,
            "Longest delay between two attempts (a longer Retry-After is still honoured)."),
    Setting("ONSET_NOTIFY_GIVE_UP_SECONDS", "notify_give_up_seconds", "3600", _positive_float,
            "How long after the state change a notification is retried before it is marked failed."),
    Setting("ONSET_NOTIFY_POLL_SECONDS", "notify_poll_seconds", "1", _positive_float,
            "How often the delivery worker looks for due notifications (a tick with news wakes it at once)."),
    # -- sentinel (docs/sentinel.md) --
    Setting("ONSET_SENTINEL_ENABLED", "sentinel_enabled", "true", _boolean,
            "Run the sentinel's checks in every engine tick: silent services, collapsed rates, heartbeats,"
            " latency and traffic anomalies."),
    Setting("ONSET_SENTINEL_BASELINE_WINDOWS", "sentinel_baseline_windows", "5", _positive_int,
            "Prior windows in a service's rolling baseline (their median), for rates, latency and traffic."),
    Setting("ONSET_SENTINEL_MIN_EVENTS", "sentinel_min_events", "10", _positive_int,
            "Events per window a service's baseline needs to count as steady traffic (silence is only"
            " noticed where traffic was steady)."),
    Setting("ONSET_SENTINEL_SILENT_WINDOWS", "sentinel_silent_windows", "1", _positive_int,
            "Whole windows without a single event before a steady service raises service_silent."),
    Setting("ONSET_SENTINEL_COLLAPSE_FRACTION", "sentinel_collapse_fraction", "0.2", _fraction,
            "A steady service whose window falls below this fraction of its baseline raises rate_collapse."),
    Setting("ONSET_ANOMALY_PERSIST_TICKS", "anomaly_persist_ticks", "3", _positive_int,
            "Consecutive ticks a latency or traffic anomaly must hold before it opens an incident."),
    Setting("ONSET_LATENCY_PERCENTILE", "latency_percentile", "95", _percentile,
            "The tail percentile watched per (service, step): 95 or 99."),
    Setting("ONSET_LATENCY_FACTOR", "latency_factor", "3", _positive_float,
            "Times the baseline percentile (median of the qualifying prior windows) a window needs to spike."),
    Setting("ONSET_LATENCY_MIN_REQUESTS", "latency_min_requests", "20", _positive_int,
            "Requests with a duration a window needs to be judged (and a prior window to qualify)."),
    Setting("ONSET_LATENCY_FLOOR_MS", "latency_floor_ms", "100", _non_negative_float,
            "A latency spike's percentile must also reach this many milliseconds."),
    Setting("ONSET_TRAFFIC_SURGE_FACTOR", "traffic_surge_factor", "3", _positive_float,
            "Times its baseline a service's requests in a window must reach to open a traffic_surge incident."),
    Setting("ONSET_TRAFFIC_DROP_FRACTION", "traffic_drop_fraction", "0.3", _fraction,
            "A service whose requests fall to this fraction of its baseline (but not to zero: that is"
            " service_silent) opens a traffic_drop incident."),
    Setting("ONSET_TRAFFIC_MIN_EVENTS", "traffic_min_events", "50", _positive_int,
            "Requests per window a service's baseline needs before surges and drops are judged."),
    Setting("ONSET_MAX_BODY_BYTES", "max_body_bytes", "5242880", _positive_int,
            "Largest request body accepted, measured after decompression (413 beyond)."),
    Setting("ONSET_MAX_BATCH_ITEMS", "max_batch_items", "5000", _positive_int,
            "Most events or signals in one request (413 beyond)."),
    Setting("ONSET_MAX_CLOCK_SKEW_SECONDS", "max_clock_skew_seconds", "300", _positive_float,
            "How far in the future an event or signal timestamp may be."),
    Setting("ONSET_ALERT_MATCH_WINDOW", "alert_match_window", "600", _non_negative_float,
            "How far (seconds) an alert's start may be from an incident's onset for the alert to attach"
            " by service."),
    Setting("ONSET_PAGERDUTY_WEBHOOK_SECRET", "pagerduty_webhook_secret", None, _text,
            "PagerDuty V3 webhook signing secret; set, every PagerDuty payload must carry a matching"
            " X-PagerDuty-Signature (401 otherwise)."),
    Setting("ONSET_GRAFANA_WEBHOOK_SECRET", "grafana_webhook_secret", None, _text,
            "Grafana webhook HMAC-SHA256 secret; set, every Grafana payload must carry a matching signature"
            " (401 otherwise)."),
    Setting("ONSET_GRAFANA_SIGNATURE_HEADER", "grafana_signature_header", "X-Grafana-Alert-Signature", _text,
            "Header that carries Grafana's signature (X-Grafana-Alerting-Signature, the UI's default, is"
            " also read)."),
    Setting("ONSET_GRAFANA_TIMESTAMP_HEADER", "grafana_timestamp_header", None, _text,
            "Header of Grafana's signature timestamp, when its contact point sets one (signed as"
            " timestamp:body)."),
    Setting("ONSET_SESSION_SECRET", "session_secret", None, _text,
            "Signs the dashboard's session cookies. Unset: a random secret generated once and kept in"
            " <data dir>/session.key (mode 0600); set the same value on every host behind one load balancer."),
    Setting("ONSET_BOOTSTRAP_KEY", "bootstrap_key", None, _text,
            "Admin key created at first start instead of a random one."),
    Setting("ONSET_LOG_LEVEL", "log_level", "INFO", lambda raw: raw.upper(),
            "Python logging level of the server."),
    Setting("ONSET_URL", "url", "http://127.0.0.1:8080", _text,
            "Where the CLI (and the SDK) talk to the server."),
    Setting("ONSET_API_KEY", "api_key", None, _text, "The key the CLI sends."),
    # -- operations (docs/operations.md, docs/deploy.md) --
    Setting("ONSET_PROFILE", "profile", "dev", _profile,
            "A named set of defaults: dev (rate limits off) or prod (rate limits on; see docs/operations.md)."
            " A variable set explicitly always wins over its profile's default."),
    Setting("ONSET_RATELIMIT_INGEST_RPS", "ratelimit_ingest_rps", "0", _non_negative_float_or_off,
            "Requests per second one API key may make to routes needing the ingest scope; 0 turns it off."),
    Setting("ONSET_RATELIMIT_READ_RPS", "ratelimit_read_rps", "0", _non_negative_float_or_off,
            "Requests per second one API key may make to routes needing the read scope; 0 turns it off."),
    Setting("ONSET_RATELIMIT_AGENT_RPS", "ratelimit_agent_rps", "0", _non_negative_float_or_off,
            "Requests per second one API key may make to routes needing the agent scope; 0 turns it off."),
    Setting("ONSET_RATELIMIT_STORAGE", "ratelimit_storage", "memory://", _ratelimit_storage,
            "Where rate-limit counters live: memory:// (per worker process: N workers allow N times the"
            " rate) or redis://host:port/db (one budget shared by every worker and host)."),
    Setting("ONSET_METRICS_ADDR", "metrics_addr", None, _bind,
            "HOST:PORT of a second listener of `onset serve` that answers GET /metrics without a key (and"
            " nothing else). Unset: /metrics is served on ONSET_BIND only, to a read key."),
    Setting("ONSET_EVENT_RETENTION", "event_retention", "7d", _duration,
            "How long raw events and their counters are kept (3600, 90m, 24h, 7d; 0 keeps them forever)."),
    Setting("ONSET_SIGNAL_RETENTION", "signal_retention", "30d", _duration,
            "How long signals (deploys, dependency, runtime, config) are kept; 0 keeps them forever."),
    Setting("ONSET_INCIDENT_RETENTION", "incident_retention", "90d", _duration,
            "How long resolved incidents are kept after they resolved; active and recovering ones are never"
            " pruned; 0 keeps them forever."),
    Setting("ONSET_RETENTION_INTERVAL_SECONDS", "retention_interval_seconds", "300", _positive_float,
            "How often the engine leader prunes what is past retention (in batches of a few thousand rows)."),
    # -- incident log (docs/incident-log.md) --
    Setting("ONSET_SEVERITY_P1", "severity_p1", "error_rate>=0.5,users>=1000", _severity_rule,
            "Blast-radius thresholds of P1, any of: METRIC>=NUMBER, comma-separated; METRIC is error_rate"
            " (a fraction), users, failed (requests) or services (services hit)."),
    Setting("ONSET_SEVERITY_P2", "severity_p2", "error_rate>=0.2,users>=100,services>=3", _severity_rule,
            "Blast-radius thresholds of P2 (as ONSET_SEVERITY_P1); below P3's thresholds is P4."),
    Setting("ONSET_SEVERITY_P3", "severity_p3", "error_rate>=0.05,users>=10", _severity_rule,
            "Blast-radius thresholds of P3 (as ONSET_SEVERITY_P1)."),
    Setting("ONSET_DIGEST_WEEKLY", "digest_weekly", "false", _boolean,
            "Write each finished week's digest (Markdown and JSON) under <data dir>/digests/ from the"
            " engine leader."),
    # -- agents: LLM narration (docs/agents.md); off unless a provider is named --
    Setting("ONSET_LLM_PROVIDER", "llm_provider", "none", _llm_provider,
            "Who narrates triage reports: none (no outbound call; the templated summary), openai-compatible"
            " (OpenAI, vLLM, Ollama, llama.cpp) or anthropic."),
    Setting("ONSET_LLM_BASE_URL", "llm_base_url", None, _http_url,
            "The provider's API base URL. Unset: https://api.openai.com/v1 (openai-compatible),"
            " https://api.anthropic.com (anthropic)."),
    Setting("ONSET_LLM_MODEL", "llm_model", None, _text,
            "The model to ask; required when ONSET_LLM_PROVIDER is not none."),
    Setting("ONSET_LLM_API_KEY", "llm_api_key", None, _text,
            "The provider's API key (sent as a bearer token, or x-api-key to anthropic); never logged or shown."),
    Setting("ONSET_LLM_TIMEOUT_SECONDS", "llm_timeout_seconds", "20", _positive_float,
            "Time limit of one narration call (connect and answer); past it the templated summary is shown."),
)

# Profiles: other defaults for some settings. A variable set in the environment still wins.
PROFILES: dict[str, dict[str, str]] = {
    "dev": {},
    "prod": {
        "ONSET_RATELIMIT_INGEST_RPS": "200",
        "ONSET_RATELIMIT_READ_RPS": "20",
        "ONSET_RATELIMIT_AGENT_RPS": "5",
    },
}


@dataclass(frozen=True)
class Settings:
    data_dir: str
    database_url: str | None
    sqlite_synchronous: str
    bind: str
    workers: int
    engine_enabled: bool
    window_seconds: float
    tick_seconds: float
    min_count: int
    lift: float
    min_error_rate: float
    resolve_after_seconds: float
    change_lookback_seconds: float
    runtime_lookback_seconds: float
    lease_seconds: float
    notify_enabled: bool
    notify_timeout_seconds: float
    notify_backoff_seconds: float
    notify_max_backoff_seconds: float
    notify_give_up_seconds: float
    notify_poll_seconds: float
    sentinel_enabled: bool
    sentinel_baseline_windows: int
    sentinel_min_events: int
    sentinel_silent_windows: int
    sentinel_collapse_fraction: float
    anomaly_persist_ticks: int
    latency_percentile: int
    latency_factor: float
    latency_min_requests: int
    latency_floor_ms: float
    traffic_surge_factor: float
    traffic_drop_fraction: float
    traffic_min_events: int
    max_body_bytes: int
    max_batch_items: int
    max_clock_skew_seconds: float
    alert_match_window: float
    pagerduty_webhook_secret: str | None
    grafana_webhook_secret: str | None
    grafana_signature_header: str
    grafana_timestamp_header: str | None
    session_secret: str | None
    bootstrap_key: str | None
    log_level: str
    url: str
    api_key: str | None
    profile: str
    ratelimit_ingest_rps: float
    ratelimit_read_rps: float
    ratelimit_agent_rps: float
    ratelimit_storage: str
    metrics_addr: str | None
    event_retention: float
    signal_retention: float
    incident_retention: float
    retention_interval_seconds: float
    severity_p1: tuple[Threshold, ...]
    severity_p2: tuple[Threshold, ...]
    severity_p3: tuple[Threshold, ...]
    digest_weekly: bool
    llm_provider: str
    llm_base_url: str | None
    llm_model: str | None
    llm_api_key: str | None
    llm_timeout_seconds: float

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return "sqlite:///" + str(Path(self.data_dir) / "onset.db")

    @property
    def severity_rules(self) -> SeverityRules:
        return SeverityRules(self.severity_p1, self.severity_p2, self.severity_p3)

    @property
    def bucket_seconds(self) -> float:
        # Counters are bucketed at the tick so that every tick sees whole buckets.
        return self.tick_seconds


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Parse the ONSET_ variables of `environ` (default: the process environment).

    `overrides` take attribute names (`window_seconds=2`) and win over the environment;
    they are validated like environment values. Raises ConfigError naming the variable.
    """
    environ = os.environ if environ is None else environ
    profile_defaults = _profile_defaults(environ, overrides)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.attr in overrides:
            raw = overrides.pop(setting.attr)
            raw = None if raw is None else str(raw)
        else:
            raw = environ.get(setting.env, profile_defaults.get(setting.env, setting.default))
        if raw is None or raw == "" and setting.default is None:
            values[setting.attr] = None
            continue
        try:
            values[setting.attr] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.env}={raw!r}: {exc}") from None
    if overrides:
        raise ConfigError(f"unknown settings: {', '.join(sorted(overrides))}")
    if values["window_seconds"] < values["tick_seconds"]:
        raise ConfigError("ONSET_WINDOW_SECONDS must be at least ONSET_TICK_SECONDS")
    if values["llm_provider"] != "none" and not values["llm_model"]:
        raise ConfigError(f"ONSET_LLM_MODEL must be set when ONSET_LLM_PROVIDER={values['llm_provider']}")
    return Settings(**values)


def _profile_defaults(environ: Mapping[str, str], overrides: Mapping[str, Any]) -> dict[str, str]:
    raw = overrides.get("profile", environ.get("ONSET_PROFILE", "dev"))
    try:
        return PROFILES[_profile(str(raw))]
    except ValueError as exc:
        raise ConfigError(f"ONSET_PROFILE={raw!r}: {exc}") from None


def setting_names() -> list[str]:
    return [s.env for s in SETTINGS]


assert {f.name for f in fields(Settings)} == {s.attr for s in SETTINGS}
