"""Triage: the `triage.v1` report built from an incident and its evidence (pure), its
canonical JSON and hashes, and one renderer per format."""
