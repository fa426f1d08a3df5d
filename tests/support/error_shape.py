"""The one JSON error shape, asserted: `{"error": {"code": str, "message": str, "fields": dict}}`."""

from __future__ import annotations

import orjson


def assert_error_shape(response, status: int | None = None, field: str | None = None) -> dict:
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:500]
    if status is not None:
        assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body = orjson.loads(response.get_data())
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if field is not None:
        assert field in field_names(error["fields"]), error
    return error


def field_names(fields: dict) -> set[str]:
    """Top-level field names, and those of each rejected batch item ({"index", "fields"})."""
    names = set(fields)
    for value in fields.values():
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and isinstance(item.get("fields"), dict):
                    names |= set(item["fields"])
    return names
