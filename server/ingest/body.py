"""Request bodies: bounded reading, decompression with the cap applied after it, JSON parsing."""

from __future__ import annotations

import zlib
from typing import IO, Any

import orjson

from server.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed


def read_body(stream: IO[bytes], content_encoding: str | None, max_bytes: int) -> bytes:
    """Read the whole body (chunked bodies have no length) and decompress it.

    Raises PayloadTooLarge when the body, or what it decompresses to, exceeds `max_bytes`.
    """
    raw = stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"body exceeds {max_bytes} bytes", {"body": [f"larger than {max_bytes} bytes"]})
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding == "gzip":
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS  # HTTP deflate is zlib-wrapped
    else:
        raise UnsupportedMediaType(f"unsupported Content-Encoding {content_encoding!r}",
                                   {"Content-Encoding": ["use gzip, deflate or identity"]})
    inflater = zlib.decompressobj(wbits)
    try:
        body = inflater.decompress(raw, max_bytes + 1)
        if len(body) > max_bytes or inflater.unconsumed_tail:
            raise PayloadTooLarge(f"decompressed body exceeds {max_bytes} bytes",
                                  {"body": [f"decompresses to more than {max_bytes} bytes"]})
        body += inflater.flush()
        if not inflater.eof:
            # zlib hands back what a cut-off stream held so far without complaint.
            raise zlib.error("truncated stream")
    except zlib.error as exc:
        raise ValidationFailed(f"body is not valid {encoding}: {exc}", {"body": ["corrupt compressed data"]}) from None
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"decompressed body exceeds {max_bytes} bytes",
                              {"body": [f"decompresses to more than {max_bytes} bytes"]})
    return body


def require_json(content_type: str | None) -> None:
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime != "application/json" and not (mime.startswith("application/") and mime.endswith("+json")):
        raise UnsupportedMediaType("send Content-Type: application/json",
                                   {"Content-Type": [f"got {mime or 'none'}"]})


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise ValidationFailed("empty body", {"body": ["expected JSON"]})
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed(f"malformed JSON: {exc}", {"body": ["malformed JSON"]}) from None


def read_capped(stream: IO[bytes], max_bytes: int, chunk: int = 64 * 1024) -> bytes:
    """Read a body (with or without a length) in chunks, refusing it (PayloadTooLarge) as soon as
    it passes `max_bytes`: memory never holds more than `max_bytes` + one chunk of it."""
    parts: list[bytes] = []
    size = 0
    while True:
        data = stream.read(chunk)
        if not data:
            break
        size += len(data)
        if size > max_bytes:
            raise PayloadTooLarge(f"body exceeds {max_bytes} bytes", {"body": [f"larger than {max_bytes} bytes"]})
        parts.append(data)
    return b"".join(parts)
