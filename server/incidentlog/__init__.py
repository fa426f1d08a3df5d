"""The people's half of an incident: what they did (timeline, actions, follow-ups, artifacts),
what they learn from it (postmortem, digest, recurrence) and keeping it (backups).
See docs/incident-log.md."""
