"""Slack incoming webhook: the triage report as Block Kit (`triage.render.slack`) with the
state change on top; a health alert as a short message of its own.

Slack answers 200 `ok`, 400/403/404/410 with a plain-text reason (`invalid_payload`,
`no_service`, `channel_is_archived`) that a retry cannot cure, and 429 with Retry-After.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.notify.channels.common import base_headers, clip, json_body
from server.notify.model import EVENTS, Channel, HttpRequest
from server.notify.retry import Retrier
from server.triage.render import slack as report_blocks
from server.triage.render.slack import MAX_FALLBACK_TEXT, MAX_HEADER_TEXT, MAX_SECTION_TEXT, escape

TAKES = frozenset(EVENTS)
RETRIER = Retrier(retry_codes=frozenset({429}))
MAX_CONTEXT_ELEMENTS = 10


def _event_context(message: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": f"Onset · {escape(message['event'].replace('_', ' '))} ·"
                                      f" `{escape(message['dedupe_key'])}`"}


def _incident_message(message: Mapping[str, Any]) -> dict[str, Any]:
    rendered = report_blocks.render(message["report"])
    blocks = list(rendered["blocks"])
    context = blocks[-1]
    if context.get("type") == "context" and len(context["elements"]) < MAX_CONTEXT_ELEMENTS:
        blocks[-1] = {**context, "elements": [_event_context(message), *context["elements"]]}
    text = clip(f"{escape(message['summary'])}\n{rendered['text']}", MAX_FALLBACK_TEXT)
    return {"text": text, "blocks": blocks}


def _health_message(message: Mapping[str, Any]) -> dict[str, Any]:
    alert = message["health_alert"]
    state = "cleared" if message["event"] == "cleared" else alert["severity"]
    lines = [f"*{escape(alert['reason'])}*", f"scope: `{escape(alert['scope'])}`",
             f"raised: {alert['raised_at']}"]
    if alert.get("stale_since"):
        lines.append(f"no fresh data since {alert['stale_since']}")
    if alert.get("cleared_at"):
        lines.append(f"cleared: {alert['cleared_at']} ({escape(alert.get('clear_reason') or '')})")
    return {
        "text": clip(escape(message["summary"]), MAX_FALLBACK_TEXT),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text",
                                        "text": clip(f"[{state}] {alert['key']}: {alert['scope']}", MAX_HEADER_TEXT)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": clip("\n".join(lines), MAX_SECTION_TEXT)}},
            {"type": "context", "elements": [_event_context(message)]},
        ],
    }


def build(channel: Channel, message: Mapping[str, Any]) -> HttpRequest:
    payload = _incident_message(message) if message.get("report") else _health_message(message)
    return HttpRequest(channel.url, json_body(payload), base_headers(message))
