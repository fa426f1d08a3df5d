"""API keys: stored as SHA-256 hashes, looked up by their public id, compared in constant time.

A key reads `onk_<key_id>_<secret>`; only `key_id` and the hash of the whole key are stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from server.store import db as store

SCOPES = ("ingest", "read", "respond", "agent", "admin")
PREFIX = "onk_"


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: float
    revoked_at: float | None

    def as_dict(self) -> dict:
        return {"key_id": self.key_id, "name": self.name, "scopes": list(self.scopes),
                "created_at": self.created_at, "revoked_at": self.revoked_at}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key: str) -> str | None:
    if key.startswith(PREFIX):
        parts = key[len(PREFIX):].split("_", 1)
        if len(parts) == 2 and parts[0]:
            return parts[0]
    return None


def new_key_text() -> str:
    return f"{PREFIX}{secrets.token_hex(6)}_{secrets.token_urlsafe(24)}"


def create_key(name: str, scopes: tuple[str, ...], key: str | None = None) -> tuple[str, KeyInfo]:
    """Store a new key (random unless `key` is given) and return its text, shown only now.

    A given key that does not have the `onk_<id>_` form is stored under a derived id.
    """
    key = key or new_key_text()
    key_id = key_id_of(key) or "x" + hash_key(key)[:11]
    now = time.time()
    with store.write_transaction():
        store.execute(
            "INSERT INTO api_keys (key_id, name, scopes, key_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            (key_id, name, ",".join(scopes), hash_key(key), now),
        )
    return key, KeyInfo(key_id, name, scopes, now, None)


def verify_key(key: str) -> KeyInfo | None:
    """The key's info when `key` is a live key, else None. The hash comparison is constant-time."""
    if "\x00" in key:
        return None  # no stored key holds NUL, and PostgreSQL would refuse it as a parameter
    return verify_key_hash(key_id_of(key) or "x" + hash_key(key)[:11], hash_key(key))


def verify_key_hash(key_id: str, key_hash: str) -> KeyInfo | None:
    """The info of the live key `key_id` when its stored hash is `key_hash` (compared in
    constant time), else None: for a session that keeps the hash, never the key."""
    if "\x00" in key_id + key_hash:
        return None
    row = store.fetchone(
        "SELECT key_id, name, scopes, key_hash, created_at, revoked_at FROM api_keys WHERE key_id = ?",
        (key_id,),
    )
    if row is None or row[5] is not None:
        return None
    if not hmac.compare_digest(row[3], key_hash):
        return None
    return KeyInfo(row[0], row[1], tuple(row[2].split(",")), row[4], row[5])


def list_keys() -> list[KeyInfo]:
    rows = store.fetchall(
        "SELECT key_id, name, scopes, created_at, revoked_at FROM api_keys ORDER BY created_at, key_id"
    )
    return [KeyInfo(r[0], r[1], tuple(r[2].split(",")), r[3], r[4]) for r in rows]


def revoke_key(key_id: str) -> bool:
    with store.write_transaction():
        cursor = store.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
            (time.time(), key_id),
        )
    return cursor.rowcount == 1


def count_live_keys() -> int:
    return store.fetchone("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL")[0]


_PLACEHOLDER_WORDS = ("changeme", "change-me", "secret", "password", "example", "test", "admin",
                      "placeholder", "xxx", "1234", "default", "onset")


def weakness(key: str) -> str | None:
    """Why `key` looks like a placeholder rather than a secret, or None."""
    if len(key) < 24:
        return "shorter than 24 characters"
    lowered = key.lower()
    for word in _PLACEHOLDER_WORDS:
        if word in lowered and len(set(key)) < 16:
            return f"contains {word!r} and has few distinct characters"
    if len(set(key)) < 10:
        return "has fewer than 10 distinct characters"
    return None
