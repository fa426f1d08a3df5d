"""`$steps.N.path` references between plan steps: pure resolution over earlier results."""

from __future__ import annotations

import pytest

from server.plans.references import MissingReference, reference_problem, references_in, resolve

RESULTS = [{"report": {"incident": {"id": "inc_1", "family": {"service": "payment"}},
                       "where_it_started": {"sample_traces": [{"trace_id": "t1"}], "origin": None}}}]


def test_a_reference_is_replaced_by_the_value_at_its_path():
    args = {"incident_id": "$steps.0.report.incident.id", "trace": "$steps.0.report.where_it_started.sample_traces.0.trace_id"}
    assert resolve(args, RESULTS) == {"incident_id": "inc_1", "trace": "t1"}


def test_a_reference_may_stand_for_any_json_value():
    assert resolve("$steps.0.report.incident.family", RESULTS) == {"service": "payment"}


def test_references_inside_lists_and_objects_are_resolved():
    assert resolve({"a": ["$steps.0.report.incident.id", {"b": "$steps.0.report.incident.id"}]}, RESULTS) == {
        "a": ["inc_1", {"b": "inc_1"}]}


def test_double_dollar_is_a_literal_dollar():
    assert resolve("$$steps.0.report", RESULTS) == "$steps.0.report"
    assert resolve("costs $5", RESULTS) == "costs $5"


@pytest.mark.parametrize("reference, why", [
    ("$steps.0.report.nope", "has no 'nope'"),
    ("$steps.0.report.where_it_started.sample_traces.3.trace_id", "has no '3'"),
    ("$steps.0.report.where_it_started.origin.service", "is null"),
    ("$steps.1.report", "step 1 has no result"),
])
def test_a_reference_to_nothing_says_where_the_path_ends(reference, why):
    with pytest.raises(MissingReference) as caught:
        resolve(reference, RESULTS)
    assert why in str(caught.value)


def test_a_step_may_only_refer_to_earlier_steps():
    assert reference_problem("$steps.0.report", 1) is None
    assert "does not run before step 1" in reference_problem("$steps.1.report", 1)
    assert "not a reference" in reference_problem("$steps.x", 1)


def test_references_in_finds_nested_ones():
    assert references_in({"a": ["$steps.0.x", "plain"], "b": {"c": "$steps.1.y"}}) == ["$steps.0.x", "$steps.1.y"]
