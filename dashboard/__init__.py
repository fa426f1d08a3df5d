"""The HTMX dashboard: a Flask blueprint mounted at /ui/ (server.app registers `bp`).

Server-rendered Jinja templates (`templates/`, all `.html` so autoescape is on), htmx and a
small script as static files (`static/`), no build step. Pages read through the store and
triage layers and render; nothing here decides anything about an incident.
"""

from dashboard.pages import bp

__all__ = ["bp"]
