"""Notification channels: where notices go, and the rules that choose them.

A removed channel keeps its row (its notifications still name it) and takes nothing new.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import orjson

from server.notify.model import Channel, Rule
from server.store import db as store

_COLUMNS = "id, type, name, url, secret, rules, created_at, removed_at"


def channel_from_row(row: Sequence) -> Channel:
    """A Channel from the columns id, type, name, url, secret, rules, created_at, removed_at."""
    rules = tuple(Rule.from_dict(r) for r in orjson.loads(row[5]))
    return Channel(row[0], row[1], row[2], row[3], row[4], rules, row[6], row[7])


def new_channel_id() -> str:
    return f"chn_{secrets.token_hex(5)}"


def create_channel(channel_type: str, name: str, url: str, secret: str | None, rules: Sequence[Rule],
                   now: float) -> Channel:
    channel = Channel(new_channel_id(), channel_type, name, url, secret, tuple(rules), now)
    with store.write_transaction():
        store.execute(
            f"INSERT INTO channels ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
            (channel.id, channel_type, name, url, secret,
             orjson.dumps([r.as_dict() for r in rules]).decode(), now),
        )
    return channel


def list_channels(*, include_removed: bool = False) -> list[Channel]:
    where = "" if include_removed else " WHERE removed_at IS NULL"
    return [channel_from_row(r) for r in store.fetchall(f"SELECT {_COLUMNS} FROM channels{where} ORDER BY created_at, id")]


def live_channels() -> list[Channel]:
    """The channels that take new notices, in the order they were added."""
    return list_channels()


def get_channel(channel_id: str) -> Channel | None:
    row = store.fetchone(f"SELECT {_COLUMNS} FROM channels WHERE id = ?", (channel_id,))
    return channel_from_row(row) if row else None


def remove_channel(channel_id: str, now: float) -> bool:
    """Stop a channel from taking new notices; False when there is no live channel of that id.
    Its queued notifications are marked failed by the delivery worker ("channel removed")."""
    with store.write_transaction():
        cursor = store.execute("UPDATE channels SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                               (now, channel_id))
    return cursor.rowcount == 1
