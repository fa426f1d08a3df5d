"""Evidence capture in the engine's tick, and the determinism of the report built from it.

Real database (SQLite and PostgreSQL), fake clock: the engine opens an incident from
crafted traffic (tests/support/triage_traffic.py), then the tests move the clock, add
evidence, reorder stored rows and change capture times.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from server.engine.tick import Engine
from server.evidence import capture
from server.evidence.capture import KINDS, evidence_rows
from server.evidence.subject import Subject
from server.store import db, incidents, migrate
from server.store.db import open_database, write_transaction
from server.triage.lookup import report_for
from server.triage.render import FORMATS, render
from tests.support.triage_traffic import T0, Fault, burst, play, send, signal, tick_until

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "triage.v1.schema.json").read_text())
DEPENDENCY = Fault(processor="timeout")


@pytest.fixture
def engine(store) -> Engine:
    return Engine(store, "test-engine")


def stored_rows(incident_id: str) -> dict[tuple[str, str], float]:
    return {(k, p): at for k, p, at in db.fetchall(
        "SELECT kind, phase, captured_at FROM incident_evidence WHERE incident_id = ?", (incident_id,))}


def subject_of(incident_id: str) -> Subject:
    open_now = {inc.id: inc for inc in incidents.open_incidents()}[incident_id]
    return Subject(incident_id, open_now.primary, tuple(sorted(open_now.families)), open_now.onset,
                   open_now.analysis)


def fresh_database(tmp_path: Path) -> None:
    """Rebind the store to an empty, migrated database of the same backend."""
    if db.is_postgres():
        with write_transaction():
            db.execute("DROP SCHEMA public CASCADE")
            db.execute("CREATE SCHEMA public")
    else:
        open_database(f"sqlite:///{tmp_path / 'fresh.db'}", synchronous="NORMAL")
    migrate.migrate()


def test_opening_captures_every_kind_in_both_phases(store, engine):
    played = play(store, engine, DEPENDENCY)
    rows = stored_rows(played.incident_id)
    assert {kind for kind, _ in rows} == set(KINDS)
    assert {phase for _, phase in rows} == {"opening", "latest"}
    opening_time = T0 + 10  # the tick that opened it
    assert all(at == opening_time for (kind, phase), at in rows.items() if phase == "opening")
    statuses = {kind: snap["status"] for kind, (_, snap) in incidents.evidence_snapshots(
        played.incident_id, "latest").items()}
    assert statuses == {"propagation": "ok", "blast": "ok", "change": "ok", "alerts": "ok", "similar": "ok"}


def test_latest_is_written_only_when_its_content_changed(store, engine):
    played = play(store, engine, DEPENDENCY)
    # The tick at T0 + 30 captured `latest`; capturing again at the same time changes nothing.
    assert evidence_rows(subject_of(played.incident_id), T0 + 30, store, opening=False) == []
    before = stored_rows(played.incident_id)
    send(store, burst(T0 + 32, DEPENDENCY, n=6, prefix="z"), T0 + 36)
    tick_until(engine, T0 + 40, T0 + 40)
    after = stored_rows(played.incident_id)
    assert after[("blast", "latest")] == T0 + 40  # more failures: rewritten
    assert after[("alerts", "latest")] == before[("alerts", "latest")]  # unchanged: not rewritten
    assert after[("blast", "opening")] == before[("blast", "opening")]  # opening is kept as it was


def test_fingerprint_stays_while_counts_move_and_changes_with_new_evidence(store, engine):
    played = play(store, engine, DEPENDENCY)
    first = report_for(played.incident_id)
    send(store, burst(T0 + 32, DEPENDENCY, n=6, prefix="z"), T0 + 36)
    tick_until(engine, T0 + 40, T0 + 50)
    later = report_for(played.incident_id)
    assert later["how_bad"]["requests"]["failed"] > first["how_bad"]["requests"]["failed"]
    assert later["report_hash"] != first["report_hash"]
    assert later["evidence_fingerprint"] == first["evidence_fingerprint"]

    # A dependency signal reported late, stamped before the onset, is new evidence.
    signal(store, {"type": "dependency", "service": "payment", "ts": T0 - 30, "reason": "card-processor 5xx",
                   "attributes": {"dependency": "card-processor"}}, T0 + 55)
    tick_until(engine, T0 + 60, T0 + 60)
    with_signal = report_for(played.incident_id)
    assert with_signal["evidence_fingerprint"] != later["evidence_fingerprint"]
    assert any(e["kind"] == "dependency" for e in with_signal["evidence"])


def test_same_events_stored_in_another_order_give_the_same_report(store, tmp_path):
    first = play(store, Engine(store, "a"), DEPENDENCY)
    ordered = report_for(first.incident_id)
    fresh_database(tmp_path)
    second = play(store, Engine(store, "b"), DEPENDENCY, shuffle=7)
    shuffled = report_for(second.incident_id)
    assert second.incident_id == first.incident_id
    assert shuffled["report_hash"] == ordered["report_hash"]
    assert shuffled == {**ordered, "provenance": shuffled["provenance"]}  # only the engine's name may differ


def test_capture_and_engine_times_do_not_change_the_hash(store, engine):
    played = play(store, engine, DEPENDENCY)
    before = report_for(played.incident_id)
    with write_transaction():
        db.execute("UPDATE incident_evidence SET captured_at = captured_at + 1234 WHERE incident_id = ?",
                   (played.incident_id,))
        db.execute("UPDATE incidents SET opened_at = opened_at + 7, updated_at = updated_at + 1300 WHERE id = ?",
                   (played.incident_id,))
    after = report_for(played.incident_id)
    assert after["generated_at"] != before["generated_at"]
    assert after["provenance"] != before["provenance"]
    assert after["report_hash"] == before["report_hash"]


def test_a_material_change_changes_the_hash(store, engine):
    played = play(store, engine, DEPENDENCY)
    before = report_for(played.incident_id)
    with write_transaction():
        db.execute("UPDATE incidents SET state = 'recovering' WHERE id = ?", (played.incident_id,))
    assert report_for(played.incident_id)["report_hash"] != before["report_hash"]


def test_the_same_state_hashes_the_same_in_every_renderer(store, engine):
    played = play(store, engine, DEPENDENCY)
    report = report_for(played.incident_id)
    assert report_for(played.incident_id) == report  # reading twice: the same report
    for fmt in FORMATS:
        body, _ = render(report, fmt)
        assert report["report_hash"] in body.decode(), fmt


def test_incident_stored_before_evidence_existed_still_loads_and_renders(store, engine, client, auth):
    played = play(store, engine, DEPENDENCY)
    with write_transaction():
        db.execute("DELETE FROM incident_evidence WHERE incident_id = ?", (played.incident_id,))
    report = report_for(played.incident_id)
    jsonschema.validate(report, SCHEMA)
    for section in ("where_it_started", "how_bad", "what_changed", "alerts", "similar_incidents"):
        assert report[section]["status"] == "missing", section
        assert report[section]["status_reason"], section
    # The engine's own decision still stands, and what it cites is still listed.
    assert report["where_it_started"]["origin"]["via"] == "card-processor"
    assert report["where_it_started"]["path_source"] == "engine"
    ids = {e["id"] for e in report["evidence"]}
    assert all(set(r["evidence"]) <= ids for r in report["cause"]["reasons"])
    for fmt in FORMATS:
        assert report["report_hash"] in render(report, fmt)[0].decode()

    body = client.get(f"/v1/incidents/{played.incident_id}", headers=auth("read")).get_json()
    assert body["evidence_status"]["blast"]["status"] == "missing"
    assert {e["kind"] for e in body["evidence"]} == {"family", "trace"}


def test_one_kind_missing_leaves_the_others_intact(store, engine):
    played = play(store, engine, DEPENDENCY)
    with write_transaction():
        db.execute("DELETE FROM incident_evidence WHERE incident_id = ? AND kind = 'similar'", (played.incident_id,))
    report = report_for(played.incident_id)
    assert report["similar_incidents"]["status"] == "missing"
    assert report["how_bad"]["status"] == "ok"
    jsonschema.validate(report, SCHEMA)


def test_failing_capture_is_recorded_missing_and_the_tick_still_commits(store, engine, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(capture, "capture_blast", broken)
    played = play(store, engine, DEPENDENCY)
    blast = incidents.evidence_snapshots(played.incident_id, "latest")["blast"][1]
    assert blast["status"] == "missing" and "RuntimeError" in blast["status_reason"]
    report = report_for(played.incident_id)
    assert report["how_bad"]["status"] == "missing"
    jsonschema.validate(report, SCHEMA)
