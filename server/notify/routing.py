"""Which channels take a notice, and why. Pure.

A channel's rules are alternatives: the first rule whose every field matches takes the
notice. Within a rule, each field is an any-of list; a field left out matches anything. A
rule that names severities does not match a notice without one (an incident before it has
a severity). A channel without rules takes every notice its type can carry.
"""

from __future__ import annotations

from server.notify.channels import takes
from server.notify.model import RULE_FIELDS, Channel, Notice, Rule


def rule_mismatch(rule: Rule, notice: Notice) -> str | None:
    """None when `rule` matches `notice`, else the first field that does not, named."""
    for name in RULE_FIELDS:
        wanted = getattr(rule, name)
        if not wanted:
            continue
        value = notice.event if name == "events" else notice.attributes.get(name)
        if value is None:
            return f"{name} unknown"
        if value not in wanted:
            return f"{name} {value} not in {', '.join(wanted)}"
    return None


def route(notice: Notice, channel: Channel) -> tuple[bool, str]:
    """(taken, reason): whether `channel` gets `notice`, with the rule that decided."""
    if channel.removed_at is not None:
        return False, "channel removed"
    if not takes(channel.type, notice.event):
        return False, f"{channel.type} channels do not carry {notice.event}"
    if not channel.rules:
        return True, "no rules: every notice"
    misses = []
    for number, rule in enumerate(channel.rules, 1):
        miss = rule_mismatch(rule, notice)
        if miss is None:
            return True, f"rule {number} matched"
        misses.append(f"rule {number}: {miss}")
    return False, "; ".join(misses)
