"""SDK test fixtures. As in sentry-python, the SDK's swallowed internal errors re-raise here.

`capture_internal_exception` is replaced by one that records the error and raises it, in
whatever thread it happens; a test whose run recorded any fails at teardown, so an SDK
bug in the transport thread cannot hide behind the "never raise into the app" rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import onset_sdk
import onset_sdk.internal
import pytest


@pytest.fixture(autouse=True)
def sdk_internal_errors(monkeypatch) -> Iterator[list]:
    captured: list = []

    def reraise(exc_info: tuple) -> None:
        captured.append(exc_info)
        raise exc_info[1].with_traceback(exc_info[2])

    monkeypatch.setattr(onset_sdk.internal, "capture_internal_exception", reraise)
    yield captured
    assert not captured, f"the SDK swallowed internal errors: {[repr(e[1]) for e in captured]}"


@pytest.fixture
def swallow_internal_errors(monkeypatch, sdk_internal_errors) -> list:
    """Production behaviour for tests of it: internal errors are swallowed (and recorded here)."""
    swallowed: list = []
    monkeypatch.setattr(onset_sdk.internal, "capture_internal_exception", swallowed.append)
    return swallowed


@pytest.fixture(autouse=True)
def sdk_shut_down() -> Iterator[None]:
    yield
    onset_sdk.shutdown()


class RecordingTransport:
    """Keeps what the SDK would send, in memory."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.signals: list[dict[str, Any]] = []
        self.deploys: list[dict[str, Any]] = []

    def add_event(self, event: dict[str, Any]) -> bool:
        self.events.append(event)
        return True

    def add_signal(self, payload: dict[str, Any], *, deploy: bool = False) -> bool:
        (self.deploys if deploy else self.signals).append(payload)
        return True

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self, timeout: float = 2.0) -> None:
        pass

    def stats(self) -> dict[str, Any]:
        return {"queued": 0, "sent": len(self.events), "signals_sent": 0, "retries": 0, "dropped": 0,
                "dropped_by_reason": {}}

    def requests(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == "request"]

    def dependencies(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == "dependency"]


@pytest.fixture
def recorded() -> RecordingTransport:
    """The SDK initialised for service `shop` 1.0 in env `test`, recording instead of sending."""
    transport = RecordingTransport()
    onset_sdk.init(service="shop", env="test", version="1.0", transport=transport,
                   service_map={"payment.internal:8443": "payment", "card.example": "card-processor"})
    return transport
