"""Outbox rows: one per (notice, channel that takes it), each with its dedupe key. Pure.

The dedupe key names the subject, the state change (event and when it happened) and the
channel. It is unique in the table, so writing the same change twice cannot queue a second
delivery; it travels with every delivery (header, body, PagerDuty dedup_key) so that a
receiver can drop the repeat a crash between sending and recording may cause.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from server.notify.model import Channel, Notice, OutboxRow
from server.notify.routing import route


def dedupe_key(notice: Notice, channel_id: str) -> str:
    return f"{notice.subject_kind}/{notice.subject_id}/{notice.event}/{round(notice.at * 1000)}/{channel_id}"


def outbox_rows(notices: Iterable[Notice], channels: Sequence[Channel]) -> list[OutboxRow]:
    """Rows in notice order, channels in their configured order."""
    rows = []
    for notice in notices:
        for channel in channels:
            taken, why = route(notice, channel)
            if taken:
                rows.append(OutboxRow(dedupe_key(notice, channel.id), channel.id, notice.subject_kind,
                                      notice.subject_id, notice.event, notice.at, notice.summary, why))
    return rows
