"""Alerts from Alertmanager, Grafana, PagerDuty and Onset's own format, and their attachment
to incidents."""


def up(ddl):
    # One row per alert instance. Its identity is (source, fingerprint, starts_at): the
    # sender's label-set hash plus when that firing began (Alertmanager's own dedupe key);
    # alert_id is derived from it, so a repeated notification finds the same row.
    ddl("""CREATE TABLE alerts (
        alert_id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        starts_at {float} NOT NULL,
        status TEXT NOT NULL,
        name TEXT NOT NULL,
        service TEXT,
        env TEXT,
        severity TEXT,
        ends_at {float},
        trace_id TEXT,
        error_code TEXT,
        labels TEXT NOT NULL,
        annotations TEXT NOT NULL,
        links TEXT NOT NULL,
        extra TEXT NOT NULL,
        first_received_at {float} NOT NULL,
        last_received_at {float} NOT NULL,
        resolved_at {float},
        notifications {bigint} NOT NULL DEFAULT 1
    )""")
    ddl("CREATE INDEX alerts_by_start ON alerts (starts_at)")
    ddl("CREATE INDEX alerts_by_status ON alerts (status, starts_at)")
    ddl("CREATE INDEX alerts_by_end ON alerts (status, ends_at)")
    ddl("CREATE INDEX alerts_by_fingerprint ON alerts (source, fingerprint, starts_at)")

    ddl("""CREATE TABLE incident_alerts (
        incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        alert_id TEXT NOT NULL REFERENCES alerts (alert_id) ON DELETE CASCADE,
        reason TEXT NOT NULL,
        attached_at {float} NOT NULL,
        PRIMARY KEY (incident_id, alert_id)
    )""")
    ddl("CREATE INDEX incident_alerts_by_alert ON incident_alerts (alert_id)")
