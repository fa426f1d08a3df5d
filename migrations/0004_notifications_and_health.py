"""Notification channels and the durable outbox; health alerts, heartbeats and safe actions;
latency histograms; incidents of other kinds than error spikes."""


def up(ddl):
    # Incidents opened by the sentinel's anomaly checks (latency, traffic) live on the same
    # lifecycle and report as error incidents; `kind` keeps the error engine off them.
    ddl("ALTER TABLE incidents ADD COLUMN kind TEXT NOT NULL DEFAULT 'errors'")
    ddl("CREATE INDEX incidents_by_kind ON incidents (kind, state)")

    # Per-bucket duration histograms kept in the ingest transaction, like event_counts:
    # bin i holds durations in (2^((i-1)/4), 2^(i/4)] ms (quarter octaves, about 19% wide).
    ddl("""CREATE TABLE duration_counts (
        bucket {float} NOT NULL,
        service TEXT NOT NULL,
        env TEXT NOT NULL,
        step TEXT NOT NULL,
        bin INTEGER NOT NULL,
        n {bigint} NOT NULL,
        PRIMARY KEY (service, env, step, bucket, bin)
    )""")
    ddl("CREATE INDEX duration_counts_by_bucket ON duration_counts (bucket)")

    ddl("""CREATE TABLE channels (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        name TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT,
        rules TEXT NOT NULL,
        created_at {float} NOT NULL,
        removed_at {float}
    )""")

    # The outbox: one row per (state change, channel), written in the transaction of the
    # state change. dedupe_key is unique: a replayed or repeated write finds the same row.
    ddl("""CREATE TABLE notifications (
        id {pk},
        dedupe_key TEXT NOT NULL UNIQUE,
        channel_id TEXT NOT NULL REFERENCES channels (id),
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        event TEXT NOT NULL,
        event_at {float} NOT NULL,
        summary TEXT NOT NULL,
        route TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at {float} NOT NULL,
        next_attempt_at {float} NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        claimed_by TEXT,
        claim_expires_at {float},
        payload TEXT,
        last_status INTEGER,
        last_error TEXT,
        last_reason TEXT,
        delivered_at {float},
        failed_at {float}
    )""")
    ddl("CREATE INDEX notifications_due ON notifications (state, next_attempt_at)")
    ddl("CREATE INDEX notifications_by_subject ON notifications (subject_id, channel_id, id)")

    ddl("""CREATE TABLE notification_attempts (
        id {pk},
        notification_id {bigint} NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        started_at {float} NOT NULL,
        duration_ms {float} NOT NULL,
        status_code INTEGER,
        error TEXT,
        outcome TEXT NOT NULL,
        reason TEXT NOT NULL,
        retry_after {float},
        holder TEXT NOT NULL
    )""")
    ddl("CREATE INDEX notification_attempts_by_row ON notification_attempts (notification_id, id)")

    # One row per raise; at most one active (uncleared) row per (key, scope).
    ddl("""CREATE TABLE health_alerts (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        scope TEXT NOT NULL,
        severity TEXT NOT NULL,
        service TEXT,
        env TEXT,
        reason TEXT NOT NULL,
        details TEXT NOT NULL,
        stale_since {float},
        raised_at {float} NOT NULL,
        cleared_at {float},
        clear_reason TEXT
    )""")
    ddl("CREATE UNIQUE INDEX health_alerts_one_active ON health_alerts (key, scope) WHERE cleared_at IS NULL")
    ddl("CREATE INDEX health_alerts_by_time ON health_alerts (raised_at)")

    ddl("""CREATE TABLE heartbeats (
        source TEXT PRIMARY KEY,
        interval_s {float} NOT NULL,
        after TEXT,
        declared_at {float} NOT NULL,
        last_beat_at {float} NOT NULL,
        beats {bigint} NOT NULL
    )""")

    # Safe actions: an operator-configured webhook per health alert key, run only by a person.
    ddl("""CREATE TABLE health_actions (
        key TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT,
        updated_at {float} NOT NULL
    )""")
    ddl("""CREATE TABLE health_action_runs (
        id {pk},
        health_alert_id TEXT NOT NULL REFERENCES health_alerts (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        label TEXT NOT NULL,
        url TEXT NOT NULL,
        triggered_by TEXT NOT NULL,
        key_id TEXT NOT NULL,
        at {float} NOT NULL,
        duration_ms {float} NOT NULL,
        status_code INTEGER,
        answer TEXT,
        error TEXT
    )""")
    ddl("CREATE INDEX health_action_runs_by_alert ON health_action_runs (health_alert_id, id)")
