"""The agents' blueprints (docs/agents.md), registered together by `server.app`: capabilities,
plans, and the narrative beside a triage report."""

from __future__ import annotations

from server.api import capabilities, narrative, plans

BLUEPRINTS = (capabilities.bp, plans.bp, narrative.bp)
