"""Onset: the incident triage server."""

__version__ = "0.1.0"
