"""Change snapshot: what changed around the onset, relative times, suspects, caps."""

from __future__ import annotations

from server.evidence import change
from server.evidence.change import change_snapshot, details_of
from tests.support.triage_state import ONSET, signal_record


def snap(records, suspect=None, runner_up=None, rates=None, truncated=False):
    return change_snapshot(records, ONSET, suspect, runner_up, rates or {}, 1800.0, ["payment"], truncated)


def test_items_carry_time_relative_to_the_onset_and_their_role():
    deploy = signal_record("sig_a", "deploy", "payment", ONSET - 90, version="2.0", commit="abc")
    late = signal_record("sig_b", "runtime", "payment", ONSET + 30, reason="OOMKilled")
    s = snap([late, deploy], suspect="sig_a")
    assert [(i["id"], i["relation"], i["offset_seconds"], i["role"]) for i in s["items"]] == [
        ("sig_a", "before", -90.0, "suspect"), ("sig_b", "after", 30.0, None)]
    assert s["status"] == "ok" and s["items_left_out"] == 0 and s["services"] == ["payment"]


def test_over_the_cap_the_cited_and_the_nearest_are_kept_and_the_rest_counted(monkeypatch):
    monkeypatch.setattr(change, "MAX_CHANGES", 3)
    records = [signal_record(f"sig_{i:02d}", "config", "payment", ONSET - 100 * (i + 1)) for i in range(6)]
    s = snap(records, suspect="sig_05")
    assert [i["id"] for i in s["items"]] == ["sig_05", "sig_01", "sig_00"]  # in time order
    assert s["items_left_out"] == 3


def test_details_keep_what_ci_sent_bounded_and_nothing_else():
    attrs = {"version": "1" * 500, "commit": "c0ffee", "pr_url": "https://x/pr/1", "author": "bo", "auto": True,
             "secret_token": "s3cr3t", "nested": {"a": 1}}
    details = details_of(attrs)
    assert set(details) == {"version", "commit", "pr_url", "author", "auto"}
    assert len(details["version"]) == change.MAX_TEXT


def test_error_rates_only_where_given():
    deploy = signal_record("sig_a", "deploy", "payment", ONSET - 90)
    other = signal_record("sig_b", "deploy", "payment", ONSET - 900)
    rates = {"sig_a": {"window_seconds": 60.0, "before": {}, "after": {}}}
    s = snap([deploy, other], suspect="sig_a", rates=rates)
    assert "error_rates" in s["items"][1] and "error_rates" not in s["items"][0]


def test_a_truncated_read_is_partial():
    s = snap([], truncated=True)
    assert s["status"] == "partial" and "later ones were not read" in s["status_reason"]
