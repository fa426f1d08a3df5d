"""Optional LLM narration of a triage report: a short prose summary shown beside the
report, never instead of it and never part of `report_hash`.

`facts` reads what a narration may name from the report; `prompt` builds the request from
those facts only (never from sender-controlled text); `providers` calls the model;
`grounding` rejects a narration that names anything the report does not hold; `narrate`
composes them and falls back to the report's templated summary, recording why.
"""
