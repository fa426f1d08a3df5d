"""The incident log: severity, who is on an incident, a person's decision on its state, the
timeline, the service catalog, follow-ups and artifacts."""


def up(ddl):
    blob = "BYTEA" if ddl.dialect == "postgres" else "BLOB"
    for column in (
        # P1..P4, derived from the blast radius (source 'derived') or set by a person ('manual',
        # kept over later derivations).
        "severity TEXT", "severity_source TEXT", "severity_reason TEXT", "severity_by TEXT",
        "acknowledged_by TEXT", "acknowledged_at {float}", "assignee TEXT", "assigned_at {float}",
        # A person's decision on the state ('resolved' or 'active'), applied and then kept by the
        # engine: it never moves the incident away from it on its own.
        "manual_state TEXT", "manual_by TEXT", "manual_at {float}", "manual_reason TEXT",
        # Declared by hand (kind 'declared'): the title and who declared it.
        "title TEXT", "declared_by TEXT",
        # The incident resolved by hand whose failure this one is the return of.
        "follows TEXT",
    ):
        ddl(f"ALTER TABLE incidents ADD COLUMN {column}")

    # What people did (note, acknowledge, assign, ...) and what Onset recorded (severity
    # derived, cause changed, evidence added). State changes, attached alerts and sent
    # notifications are read from their own tables and merged in when the timeline is read.
    ddl("""CREATE TABLE incident_timeline (
        id {pk},
        incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        ts {float} NOT NULL,
        kind TEXT NOT NULL,
        author TEXT NOT NULL,
        source TEXT NOT NULL,
        key_id TEXT,
        body TEXT NOT NULL,
        data TEXT NOT NULL
    )""")
    ddl("CREATE INDEX incident_timeline_by_incident ON incident_timeline (incident_id, ts, id)")

    ddl("""CREATE TABLE services (
        name TEXT PRIMARY KEY,
        team TEXT,
        runbook_url TEXT,
        channel TEXT,
        updated_at {float} NOT NULL,
        updated_by TEXT NOT NULL
    )""")

    ddl("""CREATE TABLE followups (
        id TEXT PRIMARY KEY,
        incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        owner TEXT,
        due_at {float},
        status TEXT NOT NULL,
        created_at {float} NOT NULL,
        created_by TEXT NOT NULL,
        closed_at {float},
        closed_by TEXT
    )""")
    ddl("CREATE INDEX followups_by_incident ON followups (incident_id, created_at)")
    ddl("CREATE INDEX followups_open_by_due ON followups (status, due_at)")

    ddl(f"""CREATE TABLE artifacts (
        id TEXT PRIMARY KEY,
        incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size {{bigint}} NOT NULL,
        sha256 TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at {{float}} NOT NULL,
        content {blob} NOT NULL
    )""")
    ddl("CREATE INDEX artifacts_by_incident ON artifacts (incident_id, created_at)")
