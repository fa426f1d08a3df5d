"""Schemathesis against a live `onset serve`, from the /openapi.json it serves: every operation,
valid and invalid inputs (positive and negative generation), at least 1,000 requests. No
answer is a 5xx (the one exception: /readyz says 503 when the engine is not ticking, which
is its job), and every 4xx carries the JSON error shape.

The server runs without the engine and without notification delivery: fuzzed channels and
safe actions store URLs that nothing here must ever call.
"""

from __future__ import annotations

import collections
import math
import time

import orjson
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from tests.support.live import ADMIN_KEY, LiveServer

pytestmark = pytest.mark.slow

AT_LEAST = 1000
# Examples per operation and mode: enough for 1,400 requests in all however many operations
# there are (an operation without parameters has no invalid input), so the time stays bounded.
TARGET = 1400
ALLOWED_5XX = {("GET", "/readyz", 503)}


def problem_with(method: str, path: str, response) -> str | None:
    """Why this answer (schemathesis' Response: lowercase header names, list values) breaks
    the contract, or None."""
    status = response.status_code
    if status >= 500 and (method, path, status) not in ALLOWED_5XX:
        return f"{status}: {response.text[:300]}"
    if 400 <= status < 500:
        content_type = (response.headers.get("content-type") or [""])[0]
        if content_type.split(";")[0] != "application/json":
            return f"{status} without a JSON body: {content_type}"
        body = orjson.loads(response.content)
        error = body.get("error") if isinstance(body, dict) else None
        if list(body) != ["error"] or not isinstance(error, dict) or set(error) != {"code", "message", "fields"}:
            return f"{status} body is not the error shape: {response.text[:300]}"
        if not (isinstance(error["code"], str) and isinstance(error["message"], str)
                and isinstance(error["fields"], dict)):
            return f"{status} error members have the wrong types: {response.text[:300]}"
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("fuzz"), env={"ONSET_ENGINE_ENABLED": "false",
                                                           "ONSET_NOTIFY_ENABLED": "false"})
    live.start(wait_ready=False)
    live.wait(lambda r: r.status_code == 200, "/livez")
    yield live
    live.stop()


def test_no_generated_request_gets_a_5xx_and_every_4xx_has_the_error_shape(server):
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json", headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    examples = max(8, math.ceil(TARGET / (2 * len(operations))))
    session = requests.Session()
    statuses: collections.Counter = collections.Counter()
    problems: list[str] = []
    started = time.monotonic()

    def fuzz(operation, mode: GenerationMode) -> None:
        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case):
            response = case.call(base_url=server.url, headers=headers, session=session)
            statuses[response.status_code] += 1
            problem = problem_with(operation.method.upper(), operation.path, response)
            if problem:
                problems.append(f"{operation.method.upper()} {operation.path}: {problem}\n  {case.as_curl_command()}")

        try:
            call()
        except Unsatisfiable:  # an operation without parameters has no invalid input to generate
            assert mode == GenerationMode.NEGATIVE

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode)

    total = sum(statuses.values())
    print(f"\nschemathesis: {total} requests over {len(operations)} operations in"
          f" {time.monotonic() - started:.1f}s; statuses {dict(sorted(statuses.items()))}")
    assert not problems, "\n".join(problems[:20])
    assert total >= AT_LEAST
    # Every operation of the document; Schemathesis leaves out the document's own URL (it fetched it).
    assert len(operations) == sum(len(m) for m in schema.raw_schema["paths"].values()) - 1
