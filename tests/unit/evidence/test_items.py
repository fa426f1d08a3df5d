"""The flat evidence[] list: one entry per id, in a stable order, from every snapshot."""

from __future__ import annotations

import copy

from server.evidence.items import evidence_items
from server.evidence.stored import current_snapshots
from tests.support.triage_state import ONSET, T0, incident_state, past_incident, signal_record

CHANGES = [signal_record("sig_late", "runtime", "payment", ONSET + 20, reason="OOMKilled"),
           signal_record("sig_deploy", "deploy", "payment", ONSET - 60, version="2.0"),
           signal_record("sig_dep", "dependency", "payment", ONSET - 30, reason="503s", dependency="card-processor")]


def items_of(incident: dict) -> list[dict]:
    return evidence_items(incident, current_snapshots(incident["snapshots"]))


def test_order_is_by_kind_then_time_then_id():
    incident = incident_state(changes=CHANGES, similar=[past_incident("inc_20231101_0900_abcdef", T0 - 86400)])
    items = items_of(incident)
    assert [e["kind"] for e in items] == ["family", "trace", "trace", "trace", "deploy", "dependency", "runtime",
                                          "incident"]
    assert [e["id"] for e in items][1:4] == ["trace:f000", "trace:f001", "trace:f002"]
    assert all(set(e) == {"kind", "id", "summary", "time", "source"} for e in items)
    assert items[4]["summary"] == "deploy of payment 2.0, 60s before the onset"
    assert items[5]["summary"] == "dependency trouble: card-processor: 503s, 30s before the onset"
    assert items[-1]["id"] == "incident:inc_20231101_0900_abcdef"


def test_order_does_not_depend_on_the_order_snapshots_list_things():
    incident = incident_state(changes=CHANGES)
    shuffled = copy.deepcopy(incident)
    for key in list(shuffled["snapshots"]):
        snap = shuffled["snapshots"][key]
        for name in ("items", "sample_traces"):
            if isinstance(snap.get(name), list):
                snap[name].reverse()
    assert items_of(shuffled) == items_of(incident)


def test_a_trace_cited_by_two_snapshots_is_listed_once():
    ids = [e["id"] for e in items_of(incident_state())]
    assert len(ids) == len(set(ids))


def test_an_incident_without_snapshots_lists_its_families_and_the_engines_traces():
    items = items_of({**incident_state(), "snapshots": {}})
    assert [e["kind"] for e in items] == ["family", "trace", "trace", "trace"]
    assert items[0]["time"] == "2023-11-14T22:13:25.000Z"  # the onset
