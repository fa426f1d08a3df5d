"""Cause classification: runtime, deploy, dependency, app, unknown; onset and nearness rules."""

from __future__ import annotations

from server.engine.classify import ClassifySettings, classify
from server.engine.model import PathStep
from tests.support.factories import T0, change, family, origin

ONSET = T0
PAYMENT = family("payment", "POST /charge", "E500")


def cited(cause) -> set[str]:
    return {e for r in cause.reasons for e in r.evidence}


def test_deploy_after_onset_is_not_the_cause():
    late = change("deploy", "payment", ONSET + 30, version="v42")
    cause = classify(origin(), [late], ONSET, PAYMENT)
    assert cause.kind == "app"
    assert cause.suspect is None and cause.runner_up is None
    assert late.evidence_id not in cited(cause)


def test_deploy_of_the_origin_service_shortly_before_the_onset_is_the_cause():
    deploy = change("deploy", "payment", ONSET - 120, version="v42")
    cause = classify(origin(), [deploy], ONSET, PAYMENT)
    assert (cause.kind, cause.confidence) == ("deploy", "high")
    assert cause.suspect == deploy
    assert deploy.evidence_id in cited(cause)
    assert any("v42" in r.text for r in cause.reasons)


def test_deploy_of_a_service_on_the_path_is_a_medium_confidence_cause():
    # gateway is on the causal path to payment but the failure starts in payment.
    deploy = change("deploy", "gateway", ONSET - 120)
    cause = classify(origin(), [deploy], ONSET, PAYMENT)
    assert (cause.kind, cause.confidence) == ("deploy", "medium")


def test_deploy_of_a_service_off_the_path_is_ignored():
    deploy = change("deploy", "search", ONSET - 120)
    assert classify(origin(), [deploy], ONSET, PAYMENT).kind == "app"


def test_deploy_older_than_the_change_lookback_is_ignored():
    settings = ClassifySettings(change_lookback=1800)
    old = change("deploy", "payment", ONSET - 1801)
    assert classify(origin(), [old], ONSET, PAYMENT, settings).kind == "app"
    recent = change("deploy", "payment", ONSET - 1799)
    assert classify(origin(), [recent], ONSET, PAYMENT, settings).kind == "deploy"


def test_runtime_beats_deploy():
    deploy = change("deploy", "payment", ONSET - 30)
    crash = change("runtime", "payment", ONSET - 60, reason="OOMKilled")
    cause = classify(origin(), [deploy, crash], ONSET, PAYMENT)
    assert (cause.kind, cause.confidence) == ("runtime", "high")
    assert cause.suspect == crash
    assert any("OOMKilled" in r.text for r in cause.reasons)


def test_runtime_counts_only_for_the_origin_service_within_its_lookback():
    settings = ClassifySettings(runtime_lookback=300)
    other = change("runtime", "gateway", ONSET - 10, reason="panic")
    stale = change("runtime", "payment", ONSET - 301, reason="panic")
    after = change("runtime", "payment", ONSET + 5, reason="panic")
    assert classify(origin(), [other, stale, after], ONSET, PAYMENT, settings).kind == "app"


def test_dependency_call_origin_gives_cause_dependency():
    via = origin(step="POST /charge", via="card-processor", traces_seen=5, traces_agreeing=5)
    cause = classify(via, [], ONSET, PAYMENT)
    assert (cause.kind, cause.confidence) == ("dependency", "high")
    assert any("card-processor" in r.text for r in cause.reasons)
    assert {"trace:t0", "trace:t1", "trace:t2"} <= cited(cause)


def test_dependency_origin_agreed_by_few_traces_is_medium_confidence():
    via = origin(via="card-processor", traces_seen=5, traces_agreeing=2)
    assert classify(via, [], ONSET, PAYMENT).confidence == "medium"


def test_dependency_signal_naming_the_origins_dependency_gives_cause_dependency():
    signal = change("dependency", "card-processor", ONSET - 60, reason="elevated 5xx",
                    dependency="card-processor")
    # The signal's service is the dependency itself, not payment: it matches through `via`.
    cause = classify(origin(via="card-processor"), [signal], ONSET, PAYMENT)
    assert cause.kind == "dependency" and cause.suspect == signal
    assert signal.evidence_id in cited(cause)


def test_app_when_the_origin_is_inside_a_service_with_no_change():
    cause = classify(origin(traces_seen=5, traces_agreeing=5), [], ONSET, PAYMENT)
    assert (cause.kind, cause.confidence) == ("app", "medium")
    assert cause.suspect is None
    assert any("inside payment POST /charge" in r.text for r in cause.reasons)


def test_app_with_few_agreeing_traces_is_low_confidence():
    assert classify(origin(traces_seen=5, traces_agreeing=2), [], ONSET, PAYMENT).confidence == "low"


def test_unknown_with_no_traces_and_no_change():
    cause = classify(origin(status="missing"), [], ONSET, PAYMENT)
    assert (cause.kind, cause.confidence) == ("unknown", "low")
    assert cited(cause) == {PAYMENT.evidence_id}


def test_missing_traces_still_find_a_deploy_of_the_family_service():
    # Without traces the family stands in for the origin.
    deploy = change("deploy", "payment", ONSET - 60)
    assert classify(origin(status="missing"), [deploy], ONSET, PAYMENT).kind == "deploy"


def test_nearer_of_deploy_and_dependency_wins():
    # payment reports trouble with its dependency; the failure starts inside payment.
    def dependency_signal(ts):
        return change("dependency", "payment", ts, reason="card-processor timeouts",
                      dependency="card-processor")

    deploy, signal = change("deploy", "payment", ONSET - 60), dependency_signal(ONSET - 600)
    cause = classify(origin(), [deploy, signal], ONSET, PAYMENT)
    assert cause.kind == "deploy"
    assert (cause.suspect, cause.runner_up) == (deploy, signal)

    deploy, signal = change("deploy", "payment", ONSET - 600), dependency_signal(ONSET - 60)
    cause = classify(origin(), [deploy, signal], ONSET, PAYMENT)
    assert cause.kind == "dependency"
    assert (cause.suspect, cause.runner_up) == (signal, deploy)


def test_tie_between_deploy_and_dependency_keeps_dependency():
    deploy = change("deploy", "payment", ONSET - 120)
    signal = change("dependency", "payment", ONSET - 120, reason="card-processor timeouts",
                    dependency="card-processor")
    for changes in ([deploy, signal], [signal, deploy]):
        cause = classify(origin(), changes, ONSET, PAYMENT)
        assert cause.kind == "dependency"
        assert cause.runner_up == deploy


def test_dependency_signal_after_the_onset_is_not_the_cause():
    late = change("dependency", "payment", ONSET + 10, dependency="card-processor")
    deploy = change("deploy", "payment", ONSET - 900)
    cause = classify(origin(), [late, deploy], ONSET, PAYMENT)
    assert cause.kind == "deploy"
    assert cause.runner_up is None


def test_the_nearest_of_several_deploys_of_the_origin_is_the_suspect():
    older = change("deploy", "payment", ONSET - 900, version="v1")
    newer = change("deploy", "payment", ONSET - 100, version="v2")
    on_path = change("deploy", "gateway", ONSET - 10)
    cause = classify(origin(), [older, on_path, newer], ONSET, PAYMENT)
    # The origin service's own deploy is preferred to a nearer one elsewhere on the path.
    assert cause.suspect == newer


def test_classification_is_deterministic_for_the_same_inputs():
    path = (PathStep("gateway", "POST /api/checkout", "request", None, "E502"),
            PathStep("payment", "POST /charge", "request", None, "E500"))
    changes = [change("deploy", "gateway", ONSET - 50), change("deploy", "payment", ONSET - 50)]
    first = classify(origin(path=path), changes, ONSET, PAYMENT)
    assert classify(origin(path=path), list(reversed(changes)), ONSET, PAYMENT) == first
