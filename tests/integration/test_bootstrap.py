"""First start: migrations applied, one admin key printed once, placeholder keys warned about."""

from __future__ import annotations

import io
from dataclasses import replace

from server.bootstrap import prepare
from server.store import keys
from server.store.db import close_database, open_database


def _live_keys(settings):
    open_database(settings.resolved_database_url)
    try:
        return keys.list_keys()
    finally:
        close_database()


def test_first_start_creates_and_prints_one_admin_key(settings):
    out = io.StringIO()
    created = prepare(settings, out)
    assert created is not None and created in out.getvalue()
    assert [k.scopes for k in _live_keys(settings)] == [("admin",)]
    again = io.StringIO()
    assert prepare(settings, again) is None  # second start: no new key, nothing printed
    assert created not in again.getvalue()
    assert len(_live_keys(settings)) == 1


def test_bootstrap_key_is_stored_not_printed(settings):
    chosen = "onk_boot0001_" + "Vb7Xq2Lm9Rt4Kp1Zs8Nw3Jc6"
    out = io.StringIO()
    prepare(replace(settings, bootstrap_key=chosen), out)
    assert chosen not in out.getvalue()
    open_database(settings.resolved_database_url)
    try:
        assert keys.verify_key(chosen).scopes == ("admin",)
    finally:
        close_database()


def test_placeholder_bootstrap_key_is_warned_about_loudly(settings):
    out = io.StringIO()
    prepare(replace(settings, bootstrap_key="changeme"), out)
    assert "WARNING" in out.getvalue() and "placeholder" in out.getvalue()
