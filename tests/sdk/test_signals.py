"""signal() and deploy(): payloads, and the server's bounds enforced before sending."""

from __future__ import annotations

import onset_sdk
import pytest


def test_signal_payload(recorded):
    payload = onset_sdk.signal("dependency", reason="card processor degraded", message="p99 4s",
                               attributes={"dependency": "card-processor"}, ts=1_700_000_000.0)
    assert payload == {
        "type": "dependency", "service": "shop", "env": "test", "source": "onset-sdk", "ts": 1_700_000_000.0,
        "reason": "card processor degraded", "message": "p99 4s",
        "attributes": {"dependency": "card-processor", "version": "1.0"},
    }
    assert recorded.signals == [payload]


def test_reason_and_message_are_cut_to_the_servers_bounds(recorded):
    payload = onset_sdk.signal("config", reason="r" * 1000, message="m" * 10_000)
    assert len(payload["reason"]) == 256 and payload["reason"].endswith("…")
    assert len(payload["message"]) == 2048


def test_an_unknown_signal_type_is_the_callers_bug():
    with pytest.raises(ValueError, match="crash"):
        onset_sdk.signal("crash")


def test_deploy_payload_goes_to_the_deploy_route(recorded):
    payload = onset_sdk.deploy(version="1.5.0", commit="9f3c2e1", pr_url="https://example.test/pr/7",
                               message="x" * 5000)
    assert recorded.deploys == [payload]
    assert (payload["service"], payload["env"], payload["version"], payload["commit"]) == (
        "shop", "test", "1.5.0", "9f3c2e1")
    assert len(payload["message"]) == 2048


def test_deploy_of_another_service(recorded):
    assert onset_sdk.deploy(version="3.0", service="payment")["service"] == "payment"


def test_deploy_needs_a_version(recorded):
    with pytest.raises(ValueError):
        onset_sdk.deploy(version="")
