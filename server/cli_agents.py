"""The agents' commands (docs/agents.md): `onset mcp` serves Onset's tools over the Model
Context Protocol; `onset capabilities` shows what the server can do and what the key may do.
Both talk to the server over HTTP with ONSET_URL and ONSET_API_KEY, like any client.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any

import click

from server.cli_support import call, client, print_json, settings_or_exit


@click.command()
@click.option("--http", "use_http", is_flag=True, help="Serve streamable HTTP on loopback instead of stdio.")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True,
              help="The loopback port of --http (the endpoint is http://127.0.0.1:PORT/mcp).")
def mcp(use_http: bool, port: int) -> None:
    """Serve Onset's agent tools over MCP (stdio by default) for an AI agent's client."""
    settings = settings_or_exit()
    # Stdout is the protocol on stdio: logs, warnings and errors go to stderr only.
    logging.basicConfig(level=settings.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from server.agents.mcp_server import run  # the MCP SDK is imported only by this command

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends --http quietly
        run(settings.url, settings.api_key, http=use_http, port=port)


def _line(name: str, value: Any) -> str:
    return f"{name:14} {value}"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (GET /v1/capabilities).")
def capabilities(as_json: bool) -> None:
    """What the server can do (storage, engine, limits, sentinel, channels, OTLP, LLM) and what this key may do."""
    body = call(client(settings_or_exit()).get_json, "/v1/capabilities")
    if as_json:
        print_json(body)
        return
    engine, limits, llm, key = body["engine"], body["rate_limits"], body["llm"], body["key"]
    rates = ", ".join(f"{scope} {rps:g}/s" if rps else f"{scope} unlimited"
                      for scope, rps in limits["per_key_per_second"].items())
    lines = [
        _line("version", body["version"]),
        _line("storage", body["storage"]["backend"]),
        _line("engine", f"leader {engine['leader'] or 'none'}, last tick {engine['last_tick_at'] or 'never'}"
                        f" (every {engine['tick_seconds']:g}s, window {engine['window_seconds']:g}s)"),
        _line("rate limits", f"{rates} per key ({limits['profile']} profile, "
                             f"{'shared' if limits['shared'] else 'per worker'})"),
        _line("sentinel", f"{'on' if body['sentinel']['enabled'] else 'off'},"
                          f" {body['sentinel']['active_health_alerts']} active health alerts"),
        _line("channels", ", ".join(f"{n} {t}" for t, n in body["channels"]["by_type"].items()) or "none"),
        _line("otlp", f"POST {body['otlp']['traces']} ({', '.join(body['otlp']['encodings'])})"),
        _line("llm", "off (templated summaries)" if llm["provider"] == "none"
              else f"{llm['provider']} {llm['model']}"),
        _line("key", f"{key['name']} ({key['key_id']}): {', '.join(key['scopes'])};"
                     f" grants {', '.join(key['grants'])}"),
        _line("mcp tools", ", ".join(body["agents"]["mcp_tools"])),
        _line("plans", ", ".join(body["agents"]["plan_templates"]) if body["agents"]["plans"]
              else "needs the agent scope"),
    ]
    click.echo("\n".join(lines))


COMMANDS = (mcp, capabilities)


def register(main: click.Group) -> None:
    for command in COMMANDS:
        main.add_command(command)
