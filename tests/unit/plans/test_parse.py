"""A plan body, validated into steps: 400-ready field errors naming each bad field."""

from __future__ import annotations

import pytest

from server.errors import ValidationFailed
from server.plans.parse import MAX_STEPS, parse_plan


def errors_of(body) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        parse_plan(body)
    return caught.value.fields


def test_the_triage_template_expands_into_its_steps():
    plan = parse_plan({"template": "triage", "params": {"incident_id": "inc_1"}})
    assert plan.template == "triage" and plan.params == {"incident_id": "inc_1"}
    assert [s.tool for s in plan.steps] == ["triage_incident", "similar_incidents", "blast_radius",
                                            "explain_request", "service_health"]
    assert plan.steps[0].args == {"incident_id": "inc_1"}
    assert [s.optional for s in plan.steps] == [False, False, False, True, True]


def test_explicit_steps_keep_their_arguments_and_references():
    plan = parse_plan({"steps": [{"tool": "list_incidents", "args": {"state": "all"}},
                                 {"tool": "triage_incident", "args": {"incident_id": "$steps.0.incidents.0.id"}}]})
    assert [(s.tool, s.args) for s in plan.steps] == [("list_incidents", {"state": "all"}),
                                                      ("triage_incident", {"incident_id": "$steps.0.incidents.0.id"})]


def test_an_unknown_template_is_named():
    assert "unknown template 'nope'" in errors_of({"template": "nope"})["template"][0]


def test_a_missing_template_parameter_is_named():
    assert errors_of({"template": "triage"}) == {"params.incident_id": ["required by template triage"]}
    assert "unknown parameter" in errors_of({"template": "triage", "params": {"incident_id": "i", "x": 1}})["params.x"][0]


def test_template_and_steps_together_name_both_fields():
    fields = errors_of({"template": "triage", "params": {"incident_id": "i"}, "steps": []})
    assert set(fields) == {"template", "steps"}


@pytest.mark.parametrize("body, field", [
    ({}, "template"),
    ([], "body"),
    ({"steps": []}, "steps"),
    ({"steps": [{"tool": "list_incidents"}] * (MAX_STEPS + 1)}, "steps"),
    ({"steps": [{"tool": "rm_rf"}]}, "steps.0.tool"),
    ({"steps": [{"tool": "list_incidents", "args": {"state": "sideways"}}]}, "steps.0.args.state"),
    ({"steps": [{"tool": "list_incidents", "args": {"colour": "red"}}]}, "steps.0.args.colour"),
    ({"steps": [{"tool": "triage_incident", "args": {}}]}, "steps.0.args.incident_id"),
    ({"steps": [{"tool": "triage_incident", "args": {"incident_id": "$steps.0.x"}}]}, "steps.0.args"),
    ({"steps": [{"tool": "list_incidents", "optional": "yes"}]}, "steps.0.optional"),
    ({"steps": [{"tool": "list_incidents", "when": "now"}]}, "steps.0.when"),
    ({"steps": [{"tool": "list_incidents"}], "params": {}}, "params"),
    ({"template": "triage", "params": {"incident_id": "i"}, "mode": "fast"}, "mode"),
])
def test_every_bad_field_is_named(body, field):
    assert field in errors_of(body)


def test_arguments_holding_references_are_checked_only_when_resolved():
    # A reference in an integer field cannot be checked before it is resolved.
    plan = parse_plan({"steps": [{"tool": "list_incidents"},
                                 {"tool": "list_incidents", "args": {"limit": "$steps.0.incidents.0.count"}}]})
    assert plan.steps[1].args == {"limit": "$steps.0.incidents.0.count"}
