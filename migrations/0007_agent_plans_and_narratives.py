"""Plan runs (with their idempotency keys) and the narrations of triage reports."""


def up(ddl):
    # One row per executed plan. A client's Idempotency-Key is unique per API key: a repeat
    # finds this row and gets its stored result instead of a second run. request_hash tells
    # a true repeat from a different body sent under the same key.
    ddl("""CREATE TABLE plan_runs (
        id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        idempotency_key TEXT,
        request_hash TEXT NOT NULL,
        request TEXT NOT NULL,
        status TEXT NOT NULL,
        result TEXT,
        created_at {float} NOT NULL,
        finished_at {float}
    )""")
    ddl("CREATE UNIQUE INDEX plan_runs_idempotency ON plan_runs (key_id, idempotency_key)")
    ddl("CREATE INDEX plan_runs_by_created ON plan_runs (created_at)")

    # A narration is made once per report state (report_hash) and narrator; accepted or
    # rejected, it is kept with why, so the same question is not paid for twice.
    ddl("""CREATE TABLE narratives (
        incident_id TEXT NOT NULL,
        report_hash TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        narrative TEXT NOT NULL,
        created_at {float} NOT NULL,
        PRIMARY KEY (incident_id, report_hash, provider, model)
    )""")
