"""What every `onset` command shares: settings (a bad one is a usage error, exit 2), colour,
failing with exit 1, JSON output, and the HTTP client to the server."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
import orjson

from server.client import ApiClient, ApiFailure
from server.config import ConfigError, Settings, load_settings


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(f"onset: bad configuration: {exc}", err=True)
        sys.exit(2)


def color() -> bool:
    # NO_COLOR (no-color.org) is a terminal convention, not an Onset setting; click ignores it.
    return "NO_COLOR" not in os.environ and sys.stdout.isatty()


def style(text: str, **kwargs: Any) -> str:
    return click.style(text, **kwargs) if color() else text


def fail(message: str, code: int = 1) -> None:
    click.echo(f"onset: {message}", err=True)
    sys.exit(code)


def print_json(payload: Any) -> None:
    click.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())


def client(settings: Settings) -> ApiClient:
    return ApiClient(settings.url, settings.api_key)


def call(fn, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ApiFailure as exc:
        fail(str(exc))


def write_raw(body: bytes) -> None:
    """The server's bytes as they came (`--json` output must equal the REST body byte for byte);
    a final newline only on a terminal."""
    sys.stdout.buffer.write(body)
    if sys.stdout.isatty() and not body.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    sys.stdout.buffer.flush()
