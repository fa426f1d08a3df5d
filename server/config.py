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


def _text(raw: str) -> str:
    return raw


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
    Setting("ONSET_MAX_BODY_BYTES", "max_body_bytes", "5242880", _positive_int,
            "Largest request body accepted, measured after decompression (413 beyond)."),
    Setting("ONSET_MAX_BATCH_ITEMS", "max_batch_items", "5000", _positive_int,
            "Most events or signals in one request (413 beyond)."),
    Setting("ONSET_MAX_CLOCK_SKEW_SECONDS", "max_clock_skew_seconds", "300", _positive_float,
            "How far in the future an event or signal timestamp may be."),
    Setting("ONSET_BOOTSTRAP_KEY", "bootstrap_key", None, _text,
            "Admin key created at first start instead of a random one."),
    Setting("ONSET_LOG_LEVEL", "log_level", "INFO", lambda raw: raw.upper(),
            "Python logging level of the server."),
    Setting("ONSET_URL", "url", "http://127.0.0.1:8080", _text,
            "Where the CLI (and the SDK) talk to the server."),
    Setting("ONSET_API_KEY", "api_key", None, _text, "The key the CLI sends."),
)


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
    max_body_bytes: int
    max_batch_items: int
    max_clock_skew_seconds: float
    bootstrap_key: str | None
    log_level: str
    url: str
    api_key: str | None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return "sqlite:///" + str(Path(self.data_dir) / "onset.db")

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
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.attr in overrides:
            raw = overrides.pop(setting.attr)
            raw = None if raw is None else str(raw)
        else:
            raw = environ.get(setting.env, setting.default)
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
    return Settings(**values)


def setting_names() -> list[str]:
    return [s.env for s in SETTINGS]


assert {f.name for f in fields(Settings)} == {s.attr for s in SETTINGS}
