"""Webhook signatures: HMAC-SHA256 over the raw body bytes, any of several accepted."""

from __future__ import annotations

from server.ingest.alerts.signatures import grafana_signature_ok, pagerduty_signature_ok
from tests.support.alert_payloads import hmac_hex

BODY = b'{"event": {"event_type": "incident.triggered"}}'
SECRET = "whsec-onset-test"


def test_pagerduty_signature_over_the_raw_body_is_accepted():
    assert pagerduty_signature_ok(BODY, f"v1={hmac_hex(SECRET, BODY)}", SECRET)


def test_pagerduty_accepts_any_of_several_signatures_while_a_secret_rotates():
    header = f"v1={hmac_hex('old-secret', BODY)},v1={hmac_hex(SECRET, BODY)}"
    assert pagerduty_signature_ok(BODY, header, SECRET)
    assert pagerduty_signature_ok(BODY, header.replace(",", ", "), SECRET)


def test_pagerduty_rejects_a_wrong_missing_or_foreign_signature():
    assert not pagerduty_signature_ok(BODY, f"v1={hmac_hex('other', BODY)}", SECRET)
    assert not pagerduty_signature_ok(BODY, None, SECRET)
    assert not pagerduty_signature_ok(BODY, "", SECRET)
    assert not pagerduty_signature_ok(BODY, f"v2={hmac_hex(SECRET, BODY)}", SECRET)
    assert not pagerduty_signature_ok(BODY, "v1=zzzz,garbage,v1=ü", SECRET)


def test_pagerduty_signature_covers_every_byte():
    # Re-encoding the same JSON (a space less) is another body: it must not verify.
    assert not pagerduty_signature_ok(BODY.replace(b": ", b":"), f"v1={hmac_hex(SECRET, BODY)}", SECRET)


def test_grafana_signature_of_the_body_or_of_timestamp_and_body():
    assert grafana_signature_ok(BODY, hmac_hex(SECRET, BODY), None, SECRET, timestamp_required=False)
    signed = hmac_hex(SECRET, b"1795361876:" + BODY)
    assert grafana_signature_ok(BODY, signed, "1795361876", SECRET, timestamp_required=True)
    assert not grafana_signature_ok(BODY, signed, "1795361877", SECRET, timestamp_required=True)
    assert not grafana_signature_ok(BODY, signed, None, SECRET, timestamp_required=True)
    assert not grafana_signature_ok(BODY, hmac_hex("other", BODY), None, SECRET, timestamp_required=False)
    assert not grafana_signature_ok(BODY, None, None, SECRET, timestamp_required=False)
