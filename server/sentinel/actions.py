"""Safe actions: a webhook an operator configured for a health alert key ("pause the
consumer"), run only when a person asks for it, never by Onset itself. Every run records
who asked and what the webhook answered.

The webhook gets `{"schema": "onset.action.v1", "action", "label", "health_alert",
"triggered_by", "at"}` as JSON, signed like a notification webhook when the action has a
secret (`X-Onset-Signature: sha256=<hex>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from marshmallow import RAISE, Schema, ValidationError, validate

from server.errors import ValidationFailed
from server.ingest.fields import Text
from server.notify.channels.common import USER_AGENT
from server.notify.channels.webhook import SIGNATURE_HEADER, signature
from server.notify.content import present_health_alert
from server.notify.model import HttpRequest
from server.notify.send import send
from server.sentinel.model import KEYS
from server.store import health_actions
from server.store.health_actions import ActionRun
from server.timefmt import iso

MAX_ANSWER = 2000


def _url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("must be an http(s) URL")


class ActionSchema(Schema):
    class Meta:
        unknown = RAISE

    label = Text(required=True, validate=validate.Length(1, 100))
    url = Text(required=True, validate=[validate.Length(1, 2048), _url])
    secret = Text(load_default=None, allow_none=True, validate=validate.Length(1, 256))


_schema = ActionSchema()


def action_spec(key: str, payload: Any) -> dict[str, Any]:
    """Validated `{label, url, secret}` for health alert `key`; raises ValidationFailed."""
    if key not in KEYS:
        raise ValidationFailed(f"unknown health alert key {key!r}", {"key": [f"must be one of {', '.join(KEYS)}"]})
    if not isinstance(payload, dict):
        raise ValidationFailed("the body must be a JSON object", {"body": ["must be a JSON object"]})
    try:
        return _schema.load(payload)
    except ValidationError as exc:
        raise ValidationFailed("invalid action", exc.messages_dict) from None


@dataclass(frozen=True)
class Asker:
    """Who asked: the API key's name and id."""

    name: str
    key_id: str


def run_action(action: health_actions.HealthAction, alert: dict[str, Any], asker: Asker, now: float,
               timeout: float) -> dict[str, Any]:
    """Call the action's webhook for `alert` once and record the run; returns the run."""
    body = orjson.dumps({"schema": "onset.action.v1", "action": action.key, "label": action.label,
                         "health_alert": present_health_alert(alert), "triggered_by": asker.name, "at": iso(now)},
                        option=orjson.OPT_SORT_KEYS)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Onset-Action": action.key}
    if action.secret:
        headers[SIGNATURE_HEADER] = signature(body, action.secret)
    result = send(HttpRequest(action.url, body, headers), timeout)
    run = ActionRun(alert["id"], action.key, action.label, action.url, asker.name, asker.key_id, now,
                    round(result.duration_ms, 3), result.status, (result.body or "")[:MAX_ANSWER] or None,
                    result.error)
    run_id = health_actions.record_run(run)
    return {"id": run_id, "health_alert_id": run.health_alert_id, "key": run.key, "label": run.label,
            "triggered_by": run.triggered_by, "key_id": run.key_id, "at": iso(run.at), "duration_ms": run.duration_ms,
            "status_code": run.status_code, "answer": run.answer, "error": run.error,
            "ok": run.status_code is not None and 200 <= run.status_code < 300}
