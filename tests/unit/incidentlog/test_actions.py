"""incidentlog/actions.py: people's timeline entries parsed, every bad field named."""

from __future__ import annotations

import pytest

from server.incidentlog.actions import PERSON_KINDS, parse_entry


def test_a_note_takes_its_author_from_the_key_unless_given():
    entry, errors = parse_entry({"kind": "note", "body": "  looking at card-processor  "}, "alice-key")
    assert errors == {} and (entry.kind, entry.author, entry.body) == ("note", "alice-key", "looking at card-processor")
    entry, _ = parse_entry({"kind": "note", "body": "x", "author": "claude"}, "agent-key")
    assert entry.author == "claude"


@pytest.mark.parametrize(("payload", "field"), [
    ([], "body"), ({"kind": "shout"}, "kind"), ({"kind": "note"}, "body"), ({"kind": "note", "body": 3}, "body"),
    ({"kind": "assign"}, "to"), ({"kind": "severity", "severity": "P5"}, "severity"),
    ({"kind": "resolve"}, "reason"), ({"kind": "note", "body": "a\x00b"}, "body"),
    ({"kind": "note", "body": "x" * 10_001}, "body"), ({"kind": "follow-up"}, "kind"),
    ({"kind": "note", "body": "x", "author": ""}, None),
])
def test_bad_entries_name_the_field(payload, field):
    entry, errors = parse_entry(payload, "k")
    if field is None:
        assert entry is not None and entry.author == "k"
    else:
        assert entry is None and field in errors


def test_each_kind_keeps_its_own_fields():
    assert parse_entry({"kind": "assign", "to": "bob"}, "k")[0].fields == {"to": "bob"}
    assert parse_entry({"kind": "severity", "severity": "P2"}, "k")[0].fields == {"severity": "P2"}
    assert parse_entry({"kind": "resolve", "reason": "rolled back"}, "k")[0].fields == {"reason": "rolled back"}
    assert parse_entry({"kind": "resolve", "body": "rolled back"}, "k")[0].fields == {"reason": "rolled back"}
    assert parse_entry({"kind": "reopen"}, "k")[0].fields == {"reason": None}


def test_the_kinds_people_add():
    assert set(PERSON_KINDS) == {"note", "action", "acknowledge", "assign", "severity", "resolve", "reopen"}
