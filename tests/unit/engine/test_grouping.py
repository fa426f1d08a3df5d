"""One incident per root cause: spiking families that share failing traces are grouped."""

from __future__ import annotations

import itertools

from server.engine.grouping import group_families
from tests.support.factories import family

GATEWAY = family("gateway", "POST /api/checkout", "E502")
CHECKOUT = family("checkout", "POST /checkout", "E502")
PAYMENT = family("payment", "POST /charge", "upstream_timeout")
SEARCH = family("search", "GET /search", "E500")


def traces(*ids: str) -> frozenset[str]:
    return frozenset(ids)


def as_sets(groups):
    return {frozenset(g) for g in groups}


def test_families_that_share_traces_form_one_group_and_unrelated_ones_stay_apart():
    new = {GATEWAY: traces("t1", "t2"), CHECKOUT: traces("t2", "t3"), SEARCH: traces("s1", "s2")}
    joins, groups = group_families(new, {})
    assert joins == {}
    assert as_sets(groups) == {frozenset({GATEWAY, CHECKOUT}), frozenset({SEARCH})}


def test_sharing_is_transitive():
    # gateway and payment share no trace, but both share one with checkout.
    new = {GATEWAY: traces("t1"), CHECKOUT: traces("t1", "t2"), PAYMENT: traces("t2")}
    _, groups = group_families(new, {})
    assert as_sets(groups) == {frozenset({GATEWAY, CHECKOUT, PAYMENT})}


def test_families_without_traces_each_get_their_own_group():
    _, groups = group_families({CHECKOUT: traces(), SEARCH: traces()}, {})
    assert as_sets(groups) == {frozenset({CHECKOUT}), frozenset({SEARCH})}


def test_grouping_is_independent_of_input_order():
    items = [(GATEWAY, traces("t1", "t2")), (CHECKOUT, traces("t2")), (PAYMENT, traces("t9")),
             (SEARCH, traces("s1", "t9"))]
    open_incidents = [("inc_b", traces("x1")), ("inc_a", traces("s1"))]
    results = set()
    for order in itertools.permutations(items):
        for open_order in itertools.permutations(open_incidents):
            joins, groups = group_families(dict(order), dict(open_order))
            results.add((tuple(sorted(joins.items())), tuple(tuple(g) for g in groups)))
    assert len(results) == 1
    (joins, groups), = results
    # search touches inc_a's trace; payment shares t9 with search, so it follows it there.
    assert dict(joins) == {SEARCH: "inc_a", PAYMENT: "inc_a"}
    assert [set(g) for g in groups] == [{GATEWAY, CHECKOUT}]


def test_family_sharing_a_trace_with_an_open_incident_joins_it():
    joins, groups = group_families({PAYMENT: traces("t7", "t8")}, {"inc_1": traces("t1", "t7")})
    assert joins == {PAYMENT: "inc_1"}
    assert groups == []


def test_family_touching_two_open_incidents_joins_the_earliest():
    # Incident ids start with the onset time, so the smallest id is the earliest incident.
    open_incidents = {"inc_20240101_1205_bbbbbb": traces("t2"), "inc_20240101_1200_aaaaaa": traces("t1")}
    joins, _ = group_families({PAYMENT: traces("t1", "t2")}, open_incidents)
    assert joins == {PAYMENT: "inc_20240101_1200_aaaaaa"}


def test_a_new_group_linked_to_an_open_incident_joins_it_whole():
    # checkout shares a trace with the open incident; gateway only shares one with checkout.
    joins, groups = group_families({GATEWAY: traces("t5"), CHECKOUT: traces("t5", "t1")},
                                   {"inc_1": traces("t1")})
    assert joins == {GATEWAY: "inc_1", CHECKOUT: "inc_1"}
    assert groups == []


def test_family_with_no_shared_trace_does_not_join_an_open_incident():
    joins, groups = group_families({SEARCH: traces("s1")}, {"inc_1": traces("t1")})
    assert joins == {}
    assert groups == [[SEARCH]]
