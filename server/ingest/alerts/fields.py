"""Field rules every alert parser shares: times, bounded text, label maps, links, and the
normalised fields read from labels (service, env, severity, trace id, error code).

Alerts are kept rather than refused where possible (a sender treats a 4xx as final): text
that is too long is cut and NUL characters are dropped; only what leaves no usable alert
(no status, an unreadable time, labels that are not a map) rejects it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from server.ingest.events import ID_PATTERN
from server.store.alerts import ANNOTATION_NAMES, LINK_NAMES, STATUSES
from server.timefmt import parse_time

Errors = dict[str, list[str]]

NAME_MAX, SERVICE_MAX, ENV_MAX, SEVERITY_MAX, FINGERPRINT_MAX = 256, 128, 64, 64, 128
KEY_MAX, LABEL_MAX, ANNOTATION_MAX, URL_MAX = 256, 2048, 8192, 2048
MAX_ENTRIES = 100

SERVICE_LABELS = ("service", "service_name", "service.name", "app", "application", "job")
ENV_LABELS = ("env", "environment", "deployment_environment", "deployment.environment.name",
              "deployment.environment")
SEVERITY_LABELS = ("severity", "priority", "level")
TRACE_LABELS = ("trace_id", "traceid", "trace.id")
ERROR_CODE_LABELS = ("error_code", "errorcode", "error.type", "error_type")


def text(value: Any, limit: int) -> str | None:
    """A string both backends can store, cut to `limit` characters; None for empty or non-text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    value = str(value).replace("\x00", "")
    if not value:
        return None
    return value if len(value) <= limit else value[:limit - 1] + "…"


def alert_time(value: Any, name: str, errors: Errors, *, required: bool) -> float | None:
    """Epoch seconds, or None when unset: absent, empty, or a time before 1970 (Go's zero time
    `0001-01-01T00:00:00Z` is how Alertmanager and Grafana say "no end yet")."""
    if value is None or value == "":
        if required:
            errors[name] = ["required"]
        return None
    try:
        ts = parse_time(value)
    except ValueError as exc:
        errors[name] = [str(exc)]
        return None
    return ts if ts > 0 else None


def status_of(value: Any, name: str, errors: Errors) -> str | None:
    if value not in STATUSES:
        errors[name] = [f"must be one of {', '.join(STATUSES)}"]
        return None
    return value


def string_map(value: Any, name: str, errors: Errors, limit: int = LABEL_MAX) -> dict[str, str]:
    """A map of names to strings (numbers and booleans written as text), bounded in size."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors[name] = ["must be an object of strings"]
        return {}
    found: dict[str, str] = {}
    for key in sorted(value)[:MAX_ENTRIES]:
        item = value[key]
        if isinstance(item, bool):
            item = "true" if item else "false"
        clean_key, clean_value = text(key, KEY_MAX), text(item, limit)
        if clean_key is not None and clean_value is not None:
            found[clean_key] = clean_value
    return found


def http_url(value: Any) -> str | None:
    """The URL when it is http or https (anything else, such as javascript:, is dropped)."""
    url = text(value, URL_MAX)
    if url is None or not url.lower().startswith(("http://", "https://")):
        return None
    return url


def links(**urls: Any) -> dict[str, str | None]:
    """The normalised links: generator, dashboard, panel, silence."""
    return {name: http_url(urls.get(name)) for name in LINK_NAMES}


def annotations_of(raw: Mapping[str, str]) -> dict[str, str | None]:
    """Summary, description and runbook URL always present (None when absent), then the rest."""
    found: dict[str, str | None] = {name: raw.get(name) for name in ANNOTATION_NAMES}
    found["runbook_url"] = http_url(found["runbook_url"]) or found["runbook_url"]
    found.update((k, v) for k, v in raw.items() if k not in ANNOTATION_NAMES)
    return found


def pick(maps: Iterable[Mapping[str, str]], names: Iterable[str]) -> str | None:
    """The first non-empty value under one of `names` (any case) in the first map that has one."""
    wanted = [n.lower() for n in names]
    for mapping in maps:
        lowered = {k.lower(): v for k, v in mapping.items()}
        for name in wanted:
            if lowered.get(name):
                return lowered[name]
    return None


def labelled_fields(labels: Mapping[str, str], annotations: Mapping[str, Any]) -> dict[str, str | None]:
    """service, env, severity, trace_id and error_code as the labels (then annotations) name them."""
    texts = {k: v for k, v in annotations.items() if isinstance(v, str)}
    trace_id = pick((labels, texts), TRACE_LABELS)
    return {
        "service": text(pick((labels,), SERVICE_LABELS), SERVICE_MAX),
        "env": text(pick((labels,), ENV_LABELS), ENV_MAX),
        "severity": text(pick((labels,), SEVERITY_LABELS), SEVERITY_MAX),
        "trace_id": trace_id if trace_id and ID_PATTERN.match(trace_id) else None,
        "error_code": text(pick((labels, texts), ERROR_CODE_LABELS), 128),
    }


def fingerprint_of(*parts: Any) -> str:
    """A stable 16-hex fingerprint for senders that give none (as Alertmanager's, a hash)."""
    seed = "\x1f".join(repr(p) for p in parts)
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def sorted_items(mapping: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(mapping.items()))
