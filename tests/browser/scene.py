"""Crafted traffic against a live server for the browser tests and `make screenshots`:
requests through gateway → checkout → payment → card-processor (tests/support/triage_traffic.py)
sent over HTTP with real timestamps, and the failure that opens an incident."""

from __future__ import annotations

import time
from typing import Any, TypeVar

from tests.support.live import LiveServer
from tests.support.triage_traffic import Fault, request

T = TypeVar("T")



def card_processor_timeouts(server: LiveServer, n: int = 12, prefix: str = "f") -> None:
    """`n` requests whose call from payment to card-processor times out, by 6 users."""
    failing = []
    for i in range(n):
        failing += request(f"{prefix}{i:03d}", time.time(), user=f"user{i % 6}", fault=Fault(processor="timeout"))
    response = server.post("/v1/events", failing)
    assert response.status_code == 200, response.text



def active_incidents(server: LiveServer) -> list[dict[str, Any]]:
    return server.get("/v1/incidents", state="active").json()["incidents"]
