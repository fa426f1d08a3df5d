"""Next checks: concrete things to look at, named after the cause and its evidence."""

from __future__ import annotations

from server.engine.model import Cause, Change, Family, NextCheck, Origin


def _deploy_check(deploy: Change, lead: str) -> NextCheck:
    attrs = deploy.attributes
    version = attrs.get("version") or "the new version"
    details = [f"commit {attrs['commit'][:12]}" if attrs.get("commit") else None,
               f"PR {attrs['pr_url']}" if attrs.get("pr_url") else None,
               f"by {attrs['author']}" if attrs.get("author") else None]
    extra = ", ".join(d for d in details if d)
    previous = attrs.get("previous_version")
    against = f" against {previous}" if previous else " against the previous version"
    return NextCheck(
        f"{lead}: diff {deploy.service} {version}{against}{f' ({extra})' if extra else ''};"
        f" roll back {deploy.service} if the diff touches the failing path",
        (deploy.evidence_id,),
    )


def next_checks(cause: Cause, origin: Origin, family: Family) -> list[NextCheck]:
    """Checks specific to the cause, then one for the runner-up cause when there is one."""
    checks: list[NextCheck] = []
    traces = tuple(f"trace:{t}" for t in origin.sample_traces[:2])
    where = f"{origin.service} {origin.step}" if origin.status != "missing" else f"{family.service} {family.step}"

    if cause.kind == "runtime" and cause.suspect is not None:
        crash = cause.suspect
        kind = crash.attributes.get("exception_type") or crash.reason or "the crash"
        checks.append(NextCheck(
            f"Read {crash.service}'s crash report ({kind}) and its logs around the crash; check for"
            f" restarts, OOM kills or a crash loop of {crash.service}",
            (crash.evidence_id,)))
        checks.append(NextCheck(f"Check whether {where} fails only while {crash.service} restarts",
                                traces or (family.evidence_id,)))
    elif cause.kind == "deploy" and cause.suspect is not None:
        checks.append(_deploy_check(cause.suspect, "Suspect deploy"))
        checks.append(NextCheck(f"Compare {where} error rate before and after the deploy",
                                (cause.suspect.evidence_id, family.evidence_id)))
    elif cause.kind == "dependency":
        dependency = origin.via or (cause.suspect.attributes.get("dependency") if cause.suspect else None) \
            or family.service
        checks.append(NextCheck(
            f"Check {dependency}'s health and status page: {origin.service}'s calls to it fail"
            f"{f' with {origin.error_code}' if origin.error_code else ''}",
            traces or ((cause.suspect.evidence_id,) if cause.suspect else (family.evidence_id,))))
        checks.append(NextCheck(
            f"Check {origin.service}'s timeouts, retries and circuit breaker for {dependency};"
            " fail over or degrade gracefully if it stays down",
            traces or (family.evidence_id,)))
    elif cause.kind == "app":
        code = origin.error_code or family.error_code
        checks.append(NextCheck(
            f"Read the {code} stack traces from {where} in the sample traces; the failure starts there,"
            " not in a call it makes",
            traces or (family.evidence_id,)))
        checks.append(NextCheck(
            f"Look for a config change, feature flag or bad input reaching {where} (no deploy was seen)",
            (family.evidence_id,)))
    else:
        checks.append(NextCheck(
            f"Send trace ids with {family.service}'s events (onset_sdk or OpenTelemetry) so the origin"
            " can be traced; meanwhile read its logs for " + family.error_code,
            (family.evidence_id,)))
        checks.append(NextCheck(
            f"Report deploys of {family.service} to /v1/deploys so a bad release can be recognised",
            (family.evidence_id,)))

    if cause.runner_up is not None:
        other = cause.runner_up
        if other.type == "deploy":
            checks.append(_deploy_check(other, "Also preceding the onset"))
        else:
            checks.append(NextCheck(
                f"Also preceding the onset: {other.type} signal for {other.service}"
                f" ({other.reason or other.message or 'no reason given'})",
                (other.evidence_id,)))
    return checks
