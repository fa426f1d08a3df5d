"""Next checks follow the cause, cite evidence, and keep the runner-up cause in view."""

from __future__ import annotations

from server.engine.classify import classify
from server.engine.nextchecks import next_checks
from tests.support.factories import T0, change, family, origin

ONSET = T0
PAYMENT = family("payment", "POST /charge", "E500")


def checks_for(the_origin, changes):
    cause = classify(the_origin, changes, ONSET, PAYMENT)
    return cause, next_checks(cause, the_origin, PAYMENT)


def test_the_runner_up_deploy_appears_in_next_checks():
    deploy = change("deploy", "payment", ONSET - 600, version="v7", commit="0123456789abcdef0123",
                    author="dana")
    signal = change("dependency", "payment", ONSET - 60, reason="card-processor timeouts",
                    dependency="card-processor")
    cause, checks = checks_for(origin(), [deploy, signal])
    assert cause.kind == "dependency" and cause.runner_up == deploy
    runner_up_checks = [c for c in checks if deploy.evidence_id in c.evidence]
    assert len(runner_up_checks) == 1
    text = runner_up_checks[0].text
    assert "v7" in text and "0123456789ab" in text and "dana" in text
    assert "0123456789abc" not in text  # the commit is shortened to 12 characters


def test_the_runner_up_dependency_signal_appears_in_next_checks():
    deploy = change("deploy", "payment", ONSET - 60, version="v7")
    signal = change("dependency", "payment", ONSET - 600, reason="card-processor timeouts",
                    dependency="card-processor")
    cause, checks = checks_for(origin(), [deploy, signal])
    assert cause.kind == "deploy" and cause.runner_up == signal
    assert checks[-1].evidence == (signal.evidence_id,)
    assert "card-processor timeouts" in checks[-1].text


def test_no_runner_up_means_no_extra_check():
    deploy = change("deploy", "payment", ONSET - 60, version="v7")
    cause, checks = checks_for(origin(), [deploy])
    assert cause.runner_up is None
    assert all(deploy.evidence_id in c.evidence for c in checks)


def test_deploy_check_names_the_diff_to_read_and_the_rollback():
    deploy = change("deploy", "payment", ONSET - 60, version="v8", previous_version="v7",
                    pr_url="https://git.example/pr/12")
    _, checks = checks_for(origin(), [deploy])
    first = checks[0]
    assert first.evidence == (deploy.evidence_id,)
    assert "v8 against v7" in first.text
    assert "https://git.example/pr/12" in first.text
    assert "roll back payment" in first.text


def test_dependency_checks_name_the_dependency_and_cite_traces():
    _, checks = checks_for(origin(via="card-processor", error_code="timeout"), [])
    assert "card-processor" in checks[0].text and "timeout" in checks[0].text
    assert checks[0].evidence == ("trace:t0", "trace:t1")


def test_runtime_checks_cite_the_crash():
    crash = change("runtime", "payment", ONSET - 30, reason="OOMKilled")
    cause, checks = checks_for(origin(), [crash])
    assert cause.kind == "runtime"
    assert checks[0].evidence == (crash.evidence_id,)
    assert "OOMKilled" in checks[0].text


def test_app_checks_point_at_the_origin_step():
    _, checks = checks_for(origin(error_code="NullPointer"), [])
    assert "NullPointer" in checks[0].text and "payment POST /charge" in checks[0].text


def test_unknown_cause_asks_for_traces_and_deploys():
    cause, checks = checks_for(origin(status="missing"), [])
    assert cause.kind == "unknown"
    text = " ".join(c.text for c in checks)
    assert "trace ids" in text and "/v1/deploys" in text
    assert all(c.evidence == (PAYMENT.evidence_id,) for c in checks)


def test_every_check_cites_evidence():
    deploy = change("deploy", "payment", ONSET - 600, version="v7")
    signal = change("dependency", "payment", ONSET - 60, dependency="card-processor")
    crash = change("runtime", "payment", ONSET - 30)
    for the_origin, changes in ((origin(), [deploy, signal]), (origin(), [crash]), (origin(), []),
                                (origin(via="card-processor"), []), (origin(status="missing"), [])):
        _, checks = checks_for(the_origin, changes)
        assert checks
        assert all(c.evidence and c.text for c in checks)
