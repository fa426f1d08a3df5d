"""A request story: one trace's spans in causal order, where the failure starts."""

from __future__ import annotations

from flask import render_template

from dashboard.blueprint import bp
from dashboard.session import signed_in
from server.errors import NotFound
from server.evidence.story import story_of
from server.ingest.events import ID_PATTERN


@bp.get("/traces/<trace_id>")
@signed_in()
def story_page(trace_id: str):
    story = story_of(trace_id) if ID_PATTERN.match(trace_id) else None
    if story is None:
        raise NotFound(f"No stored event of trace {trace_id}: traces with a failing event, and recent ones,"
                       " can be found")
    return render_template("story.html", story=story)
