"""A plan body, validated into steps. Pure: field errors out, never HTTP.

Body: `{"template": "<name>", "params": {...}}` or `{"steps": [{"tool": "<name>", "args": {...},
"optional": false}, ...]}`, never both. Field names in errors are dotted paths:
`template`, `params.incident_id`, `steps.2.tool`, `steps.2.args.window`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from server.errors import ValidationFailed
from server.plans.model import Plan, Step
from server.plans.references import reference_problem, references_in
from server.plans.templates import TEMPLATES
from server.plans.tools import PLAN_TOOLS, load_args

MAX_STEPS = 20
_TOP = ("template", "params", "steps")
_STEP = ("tool", "args", "optional")


def _template_plan(body: Mapping[str, Any], errors: dict[str, list[str]]) -> Plan | None:
    name = body["template"]
    if not isinstance(name, str) or name not in TEMPLATES:
        errors["template"] = [f"unknown template {name!r}; known: {', '.join(sorted(TEMPLATES))}"]
        return None
    template = TEMPLATES[name]
    params = body.get("params", {})
    if not isinstance(params, Mapping):
        errors["params"] = ["must be an object"]
        return None
    for key in params:
        if key not in template.params:
            errors[f"params.{key}"] = [f"unknown parameter of template {name}; it takes {', '.join(template.params)}"]
    for key, check in template.params.items():
        if key not in params:
            errors[f"params.{key}"] = [f"required by template {name}"]
        elif (problem := check(params[key])) is not None:
            errors[f"params.{key}"] = [problem]
    if errors:
        return None
    return Plan(template.steps(dict(params)), name, dict(params))


def _step(index: int, raw: Any, errors: dict[str, list[str]]) -> Step | None:
    where = f"steps.{index}"
    if not isinstance(raw, Mapping):
        errors[where] = ['must be an object: {"tool": ..., "args": {...}}']
        return None
    for key in raw:
        if key not in _STEP:
            errors[f"{where}.{key}"] = [f"unknown field; a step has {', '.join(_STEP)}"]
    tool = PLAN_TOOLS.get(raw.get("tool")) if isinstance(raw.get("tool"), str) else None
    if tool is None:
        errors[f"{where}.tool"] = [f"unknown tool {raw.get('tool')!r}; known: {', '.join(PLAN_TOOLS)}"]
        return None
    args = raw.get("args", {})
    if not isinstance(args, Mapping):
        errors[f"{where}.args"] = ["must be an object"]
        return None
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        errors[f"{where}.optional"] = ["must be true or false"]
    for reference in references_in(args):
        if (problem := reference_problem(reference, index)) is not None:
            errors.setdefault(f"{where}.args", []).append(problem)
    # Literal arguments are checked now; those holding references once they are resolved.
    referring = tuple(k for k, v in args.items() if references_in(v))
    try:
        load_args(tool, {k: v for k, v in args.items() if k not in referring}, partial=referring)
    except ValidationFailed as exc:
        for name, messages in exc.fields.items():
            errors[f"{where}.args.{name}"] = messages if isinstance(messages, list) else [str(messages)]
    return Step(tool.name, dict(args), optional)


def parse_plan(body: Any) -> Plan:
    """The plan of a request body; raises ValidationFailed naming every bad field."""
    if not isinstance(body, Mapping):
        raise ValidationFailed("the plan must be a JSON object", {"body": ["must be a JSON object"]})
    if "\\u0000" in orjson.dumps(body).decode():
        # PostgreSQL cannot take NUL in a query parameter: refuse it here rather than fail a step.
        raise ValidationFailed("the plan contains a NUL character", {"body": ["must not contain \\u0000"]})
    errors: dict[str, list[str]] = {}
    for key in body:
        if key not in _TOP:
            errors[key] = [f"unknown field; a plan has {' or '.join(_TOP)}"]
    if "template" in body and "steps" in body:
        both = "give either template (with params) or steps, not both"
        raise ValidationFailed("a plan is a template or steps, not both", {"template": [both], "steps": [both]})
    if "params" in body and "template" not in body:
        errors["params"] = ["params go with a template"]
    plan = None
    if "template" in body:
        plan = _template_plan(body, errors)
    elif "steps" in body:
        raw_steps = body["steps"]
        if not isinstance(raw_steps, list) or not 1 <= len(raw_steps) <= MAX_STEPS:
            errors["steps"] = [f"must be a list of 1 to {MAX_STEPS} steps"]
        else:
            steps = [_step(i, raw, errors) for i, raw in enumerate(raw_steps)]
            plan = Plan(tuple(s for s in steps if s is not None))
    else:
        errors["template"] = ["give a template (with params) or steps"]
    if errors:
        raise ValidationFailed("bad plan", errors)
    assert plan is not None
    return plan
