"""The configured SDK: options, transport, and the process-wide current client."""

from __future__ import annotations

import atexit
import time
from typing import Any
from urllib.parse import urlsplit

from onset_sdk.options import Options
from onset_sdk.transport import HttpTransport


class Client:
    def __init__(self, options: Options):
        self.options = options
        self.transport = options.transport or HttpTransport(
            options.url, options.api_key, queue_size=options.queue_size, batch_size=options.batch_size,
            flush_interval=options.flush_interval, timeout=options.timeout, max_retries=options.max_retries,
            gzip=options.gzip,
        )
        self.service = options.service
        self.env = options.env
        self.version = options.version
        self.service_map = dict(options.service_map)
        self.user_id_hook = options.user_id
        self._onset_netloc = urlsplit(options.url).netloc.lower()

    def new_event(self, kind: str, ts: float | None = None) -> dict[str, Any]:
        """The common fields of an event of this service; the caller adds the rest."""
        event: dict[str, Any] = {"ts": time.time() if ts is None else ts, "service": self.service,
                                 "env": self.env, "kind": kind}
        if self.version is not None:
            event["version"] = self.version
        return event

    def peer_for(self, netloc: str) -> str:
        """The service behind host[:port]: from `service_map` (host:port, then host), else host:port."""
        netloc = netloc.rpartition("@")[2].lower()
        name = self.service_map.get(netloc)
        if name is None:
            host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
            name = self.service_map.get(host)
        return name or netloc

    def is_onset(self, netloc: str) -> bool:
        return netloc.lower() == self._onset_netloc

    def capture_event(self, event: dict[str, Any]) -> bool:
        return self.transport.add_event(event)

    def capture_signal(self, payload: dict[str, Any], *, deploy: bool = False) -> bool:
        return self.transport.add_signal(payload, deploy=deploy)

    def flush(self, timeout: float | None = None) -> bool:
        return self.transport.flush(timeout)

    def close(self) -> None:
        self.transport.close(self.options.shutdown_timeout)


_client: Client | None = None


def get_client() -> Client | None:
    return _client


def set_client(client: Client | None) -> Client | None:
    """Make `client` current; returns the previous one."""
    global _client
    previous, _client = _client, client
    return previous


@atexit.register
def _flush_at_exit() -> None:
    client = _client
    if client is not None:
        client.close()
