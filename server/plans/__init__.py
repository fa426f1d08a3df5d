"""Agent plans: a template or a list of tool steps, run server-side (`POST /v1/plans/execute`).

`references` resolves `$steps.N.path` in step arguments; `model` validates a plan body
into steps (field errors, never HTTP); `templates` names ready-made plans; `tools` are the
steps' tools, calling what the REST views call; `runner` runs the steps and reports each.
"""
