"""An incident is named after the family where its failure starts, not the edge that saw it first."""

from __future__ import annotations

from server.engine.model import Family
from server.engine.tick import primary_family
from server.ingest.events import new_signal_id
from server.store import db as store_db
from server.store.signals import SignalRecord, changes_near, insert_signals

GATEWAY = Family("gateway", "production", "POST /checkout", "502")
PAYMENT = Family("payment", "production", "POST /charges", "CARD_502")


def test_family_at_the_origin_names_the_incident():
    origin = {"service": "payment", "step": "POST /charges", "via": "card-processor"}
    assert primary_family([GATEWAY, PAYMENT], origin, GATEWAY) == PAYMENT


def test_without_a_family_at_the_origin_the_default_stays():
    origin = {"service": "card-processor", "step": "charge"}
    assert primary_family([GATEWAY, PAYMENT], origin, GATEWAY) == GATEWAY
    assert primary_family([GATEWAY, PAYMENT], {}, PAYMENT) == PAYMENT


def _deploy(env: str, ts: float) -> SignalRecord:
    return SignalRecord(new_signal_id(ts), ts, ts, "deploy", "payment", env, "ci", "deployed 2.0", None,
                        {"version": "2.0"}, {})


def test_a_staging_deploy_never_explains_a_production_incident(store):
    with store_db.write_transaction():
        insert_signals([_deploy("staging", 1000.0), _deploy("production", 1010.0)])
    found = changes_near(["payment"], "production", 900.0, 1100.0)
    assert [c.ts for c in found] == [1010.0]
    assert [c.ts for c in changes_near(["payment"], "staging", 900.0, 1100.0)] == [1000.0]
