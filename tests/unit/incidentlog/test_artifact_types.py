"""incidentlog/artifact_types.py: the type is told from the content, not only the name."""

from __future__ import annotations

import pytest

from server.incidentlog.artifact_types import check_artifact, safe_name


@pytest.mark.parametrize(("name", "declared", "content", "expected"), [
    ("notes.md", None, b"# What we saw\n\n- 502s from card-processor\n", "text/markdown"),
    ("query.json", None, b'{"rows": [1, 2]}', "application/json"),
    ("excerpt.log", None, b"2026-11-22 03:10 ERROR \x1b[31mtimeout\x1b[0m\n", "text/plain"),
    ("output", "text/plain", "naïve ünïcode ✓\r\n".encode(), "text/plain"),
    ("data", "application/json; charset=utf-8", b"[]", "application/json"),
])
def test_text_json_and_markdown_are_accepted(name, declared, content, expected):
    assert check_artifact(name, declared, content).content_type == expected


@pytest.mark.parametrize(("name", "content", "why"), [
    ("screenshot.md", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "PNG image"),
    ("dump.txt", b"PK\x03\x04rest", "ZIP archive"),
    ("notes.md", b"abc\x00def", "control character"),
    ("notes.md", b"\xff\xfe\x00a", "not UTF-8"),
    ("data.json", b"{not json", "not valid JSON"),
    ("page.html", b"<html><script>alert(1)</script></html>", "not Markdown, JSON or text"),
    ("empty.txt", b"", "empty"),
])
def test_binaries_bad_json_and_other_types_are_refused(name, content, why):
    checked = check_artifact(name, None, content)
    assert checked.content_type is None and why in checked.problem


def test_names_lose_their_directories_and_header_breaking_characters():
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name('C:\\Users\\a\\"x";.md') == "_x__.md"
    assert safe_name("  ") is None and safe_name(None) is None
