"""The dashboard's pages, one module each; importing this package attaches them to `bp`."""

from dashboard.blueprint import bp
from dashboard.pages import alerts, changes, incident, incidents, log, services, signin, story

__all__ = ["alerts", "bp", "changes", "incident", "incidents", "log", "services", "signin", "story"]
