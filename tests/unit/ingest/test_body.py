"""Request bodies: decompression, the size cap applied after it, content type and JSON parsing."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zlib

import pytest

from server.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from server.ingest.body import parse_json, read_body, require_json

PAYLOAD = b'[{"service": "checkout", "step": "POST /checkout"}]'
CAP = 64 * 1024


def read(data: bytes, encoding: str | None, cap: int = CAP) -> bytes:
    return read_body(io.BytesIO(data), encoding, cap)


def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzipped: a few hundred kilobytes that inflate to `size`."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    parts = [packer.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + packer.flush()


@pytest.mark.parametrize("encoding", [None, "", "identity", " Identity "])
def test_identity_bodies_pass_through(encoding):
    assert read(PAYLOAD, encoding) == PAYLOAD


@pytest.mark.parametrize("encoding", ["gzip", "GZIP", " gzip "])
def test_gzip_bodies_are_decoded(encoding):
    assert read(gzip.compress(PAYLOAD), encoding) == PAYLOAD


def test_deflate_bodies_are_decoded_as_zlib_streams():
    assert read(zlib.compress(PAYLOAD), "deflate") == PAYLOAD


def test_raw_body_over_the_cap_is_too_large():
    with pytest.raises(PayloadTooLarge) as raised:
        read(b"x" * (CAP + 1), None)
    assert raised.value.status == 413 and "body" in raised.value.fields
    assert read(b"x" * CAP, None) == b"x" * CAP


def test_the_cap_applies_after_decompression():
    exactly = bytes(CAP)
    assert read(gzip.compress(exactly), "gzip") == exactly
    # A tiny compressed body that inflates one byte past the cap is refused.
    small = gzip.compress(bytes(CAP + 1))
    assert len(small) < CAP // 10
    with pytest.raises(PayloadTooLarge) as raised:
        read(small, "gzip")
    assert "body" in raised.value.fields
    with pytest.raises(PayloadTooLarge):
        read(zlib.compress(bytes(CAP + 1)), "deflate")


def test_gzip_bomb_is_refused_without_inflating_it():
    bomb = gzip_bomb(64 << 20)  # 64 MiB of zeros in well under 1 MiB
    assert len(bomb) < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge):
            read(bomb, "gzip", cap=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Inflating stops at the cap: memory stays near cap + compressed size, not 64 MiB.
    assert peak < 8 << 20


@pytest.mark.parametrize("body", [
    b"\x1f\x8b\x08\x00garbage-after-a-gzip-magic",
    b"this is not gzip at all",
    gzip.compress(PAYLOAD)[:-12],  # cut off mid-stream: zlib alone would hand back a prefix
], ids=["bad-header", "not-gzip", "truncated"])
def test_corrupt_gzip_is_a_validation_error(body):
    with pytest.raises(ValidationFailed) as raised:
        read(body, "gzip")
    assert raised.value.status == 400
    assert "body" in raised.value.fields


def test_corrupt_deflate_is_a_validation_error():
    with pytest.raises(ValidationFailed):
        read(b"\x78\x9cnot really deflate", "deflate")


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, br"])
def test_unsupported_encoding_is_415(encoding):
    with pytest.raises(UnsupportedMediaType) as raised:
        read(PAYLOAD, encoding)
    assert raised.value.status == 415
    assert "Content-Encoding" in raised.value.fields


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.onset+json",
])
def test_json_content_types_are_accepted(content_type):
    assert require_json(content_type) is None


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "text/json+xml"])
def test_wrong_content_type_is_415(content_type):
    with pytest.raises(UnsupportedMediaType) as raised:
        require_json(content_type)
    assert raised.value.status == 415
    assert "Content-Type" in raised.value.fields


@pytest.mark.parametrize("body", [b"", b"   \n", b"{", b"[1, 2", b"{'single': 'quotes'}", b"NaN",
                                  b"[" * 5000 + b"]" * 5000])
def test_empty_malformed_or_too_deep_json_is_a_validation_error(body):
    with pytest.raises(ValidationFailed) as raised:
        parse_json(body)
    assert "body" in raised.value.fields


def test_valid_json_is_parsed():
    assert parse_json(PAYLOAD) == [{"service": "checkout", "step": "POST /checkout"}]
