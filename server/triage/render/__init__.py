"""One renderer per format; `render(report, fmt)` picks one. Renderers only render: the
report's content, hashes included, is decided before they see it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from server.triage.render import html, markdown, pagerduty, slack, text

FORMATS: dict[str, tuple[str, Callable[[Mapping[str, Any]], Any]]] = {
    "text": ("text/plain; charset=utf-8", text.render),
    "markdown": ("text/markdown; charset=utf-8", markdown.render),
    "slack": ("application/json", slack.render),
    "pagerduty": ("text/plain; charset=utf-8", pagerduty.render),
    "html": ("text/html; charset=utf-8", html.render),
}


def render(report: Mapping[str, Any], fmt: str) -> tuple[bytes, str]:
    """(body, content type) of `report` in `fmt` (a key of FORMATS; KeyError otherwise)."""
    content_type, renderer = FORMATS[fmt]
    rendered = renderer(report)
    body = orjson.dumps(rendered) if isinstance(rendered, dict) else rendered.encode()
    return body, content_type
