"""Events with their counters, signals, incidents, API keys and the engine lease."""


def up(ddl):
    ddl("""CREATE TABLE events (
        id {pk},
        ts {float} NOT NULL,
        received_at {float} NOT NULL,
        service TEXT NOT NULL,
        env TEXT NOT NULL,
        version TEXT,
        kind TEXT NOT NULL,
        peer TEXT,
        step TEXT NOT NULL,
        status TEXT NOT NULL,
        error_code TEXT,
        duration_ms {float},
        trace_id TEXT,
        span_id TEXT,
        parent_span_id TEXT,
        user_id TEXT,
        attributes TEXT
    )""")
    # Only failing events are indexed: they are what propagation and onset queries read,
    # and they are few, so ingest of healthy traffic pays for no secondary index.
    ddl("CREATE INDEX events_errors_by_family ON events (service, env, step, error_code, ts) "
        "WHERE status = 'error'")
    ddl("CREATE INDEX events_errors_by_trace ON events (trace_id) "
        "WHERE status = 'error' AND trace_id IS NOT NULL")

    # Per-bucket counts kept in the ingest transaction; the engine reads these, never events.
    # error_code '' counts the healthy events of the step.
    ddl("""CREATE TABLE event_counts (
        bucket {float} NOT NULL,
        service TEXT NOT NULL,
        env TEXT NOT NULL,
        kind TEXT NOT NULL,
        step TEXT NOT NULL,
        error_code TEXT NOT NULL,
        n {bigint} NOT NULL,
        PRIMARY KEY (service, env, kind, step, error_code, bucket)
    )""")
    ddl("CREATE INDEX event_counts_by_bucket ON event_counts (bucket)")

    ddl("""CREATE TABLE service_versions (
        service TEXT NOT NULL,
        env TEXT NOT NULL,
        version TEXT NOT NULL,
        first_seen {float} NOT NULL,
        PRIMARY KEY (service, env, version)
    )""")

    ddl("""CREATE TABLE signals (
        id {pk},
        signal_id TEXT NOT NULL UNIQUE,
        received_at {float} NOT NULL,
        ts {float} NOT NULL,
        type TEXT NOT NULL,
        service TEXT NOT NULL,
        env TEXT NOT NULL,
        source TEXT,
        reason TEXT,
        message TEXT,
        attributes TEXT NOT NULL,
        extra TEXT NOT NULL
    )""")
    ddl("CREATE INDEX signals_by_ts ON signals (ts)")
    ddl("CREATE INDEX signals_by_service ON signals (service, ts)")

    ddl("""CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        service TEXT NOT NULL,
        env TEXT NOT NULL,
        step TEXT NOT NULL,
        error_code TEXT NOT NULL,
        onset {float} NOT NULL,
        opened_at {float} NOT NULL,
        updated_at {float} NOT NULL,
        recovering_since {float},
        resolved_at {float},
        cause TEXT NOT NULL,
        confidence TEXT NOT NULL,
        analysis TEXT NOT NULL
    )""")
    ddl("CREATE INDEX incidents_by_state ON incidents (state, onset)")

    ddl("""CREATE TABLE incident_families (
        incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        service TEXT NOT NULL,
        env TEXT NOT NULL,
        step TEXT NOT NULL,
        error_code TEXT NOT NULL,
        baseline {float} NOT NULL,
        joined_at {float} NOT NULL,
        PRIMARY KEY (incident_id, service, env, step, error_code)
    )""")
    ddl("CREATE INDEX incident_families_by_family ON incident_families (service, env, step, error_code)")

    ddl("""CREATE TABLE incident_transitions (
        id {pk},
        incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        ts {float} NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        reason TEXT NOT NULL
    )""")
    ddl("CREATE INDEX incident_transitions_by_incident ON incident_transitions (incident_id, id)")

    ddl("""CREATE TABLE incident_evidence (
        incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        phase TEXT NOT NULL,
        captured_at {float} NOT NULL,
        snapshot TEXT NOT NULL,
        PRIMARY KEY (incident_id, kind, phase)
    )""")

    ddl("""CREATE TABLE api_keys (
        key_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        scopes TEXT NOT NULL,
        key_hash TEXT NOT NULL,
        created_at {float} NOT NULL,
        revoked_at {float}
    )""")

    ddl("""CREATE TABLE engine_lease (
        name TEXT PRIMARY KEY,
        holder TEXT,
        acquired_at {float},
        expires_at {float},
        last_tick_at {float},
        last_tick_ms {float},
        ticks {bigint} NOT NULL DEFAULT 0
    )""")
    ddl("INSERT INTO engine_lease (name, ticks) VALUES ('engine', 0)")
