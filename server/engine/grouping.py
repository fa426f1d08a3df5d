"""One incident per root cause: spiking families that share failing traces belong together."""

from __future__ import annotations

from collections.abc import Mapping

from server.engine.model import Family


def group_families(new: Mapping[Family, frozenset[str]],
                   open_incidents: Mapping[str, frozenset[str]]) -> tuple[dict[Family, str], list[list[Family]]]:
    """Assign newly spiking families to open incidents, or to new groups.

    `new` maps each family to its failing trace ids; `open_incidents` maps an incident id
    to the failing trace ids it already holds. Returns (family -> incident id for families
    that join an open incident, list of new groups). Families are linked when they share a
    trace id; a group that touches an open incident joins the earliest such incident id.
    Deterministic for any input order.
    """
    families = sorted(new)
    parent: dict[object, object] = {f: f for f in families}
    parent.update({i: i for i in open_incidents})

    def find(x: object) -> object:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: object, b: object) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            # Incident ids (str) win over families so that a root names the incident.
            if isinstance(rb, str) and (not isinstance(ra, str) or rb < ra) or not isinstance(ra, str) and not isinstance(rb, str) and rb < ra:
                ra, rb = rb, ra
            parent[rb] = ra

    owner: dict[str, object] = {}
    for incident_id in sorted(open_incidents):
        for trace in sorted(open_incidents[incident_id]):
            if trace in owner:
                continue  # two open incidents sharing a trace stay apart; families pick the first
            owner[trace] = incident_id
    for family in families:
        for trace in sorted(new[family]):
            if trace in owner:
                union(owner[trace], family)
            else:
                owner[trace] = family

    joins: dict[Family, str] = {}
    groups: dict[object, list[Family]] = {}
    for family in families:
        root = find(family)
        if isinstance(root, str):
            joins[family] = root
        else:
            groups.setdefault(root, []).append(family)
    return joins, [groups[root] for root in sorted(groups)]
