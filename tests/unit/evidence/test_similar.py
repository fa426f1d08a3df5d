"""evidence/similar.py: messages normalised and compared; each similar incident scored with its reason."""

from __future__ import annotations

from server.evidence.similar import (
    Candidate,
    message_similarity,
    normalise_message,
    rank_similar,
    score_candidate,
)
from tests.support.factories import T0, family

PAYMENT = family("payment", "POST /charge", "upstream_timeout")
CHECKOUT = family("checkout", "POST /checkout", "E502")
ORIGIN = ("payment", "POST /charge")


def candidate(incident_id: str = "inc_old", *, families=(PAYMENT,), origin=ORIGIN, cause: str = "dependency",
              message: str | None = None, onset: float = T0 - 86400) -> Candidate:
    return Candidate(incident_id, "resolved", onset, cause, "high", families[0], frozenset(families), origin, message)


def test_numbers_ids_addresses_and_quoted_values_are_masked():
    assert normalise_message("Timeout after 3000 ms calling 10.0.0.7:443 (req 9f8e7d6c5b4a)") == \
        "timeout after <n> ms calling <addr> req <id>"
    assert normalise_message("order 4f1c2d9e-aaaa-4bbb-8ccc-0123456789ab for 'alice@example.com' failed") == \
        "order <id> for <value> failed"
    assert normalise_message("KeyError: 'sku-123'") == "keyerror <value>"


def test_the_same_failure_with_other_numbers_is_alike_and_another_is_not():
    a = "CardDeclined: card processor answered 502 after 2981 ms (attempt 3)"
    b = "CardDeclined: card processor answered 502 after 3120 ms (attempt 1)"
    assert message_similarity(a, b) == 1.0
    assert message_similarity(a, "KeyError: 'sku'") == 0.0
    assert message_similarity(a, None) == 0.0


def test_the_same_family_and_origin_scores_point_eight_and_says_both():
    found = score_candidate([PAYMENT, CHECKOUT], ORIGIN, "dependency", None, candidate())
    assert (found["match"], found["score"]) == ("same_family", 0.8)
    assert found["reason"] == ("same family payment/POST /charge/upstream_timeout; same origin (payment POST /charge)"
                               " and cause (dependency)")


def test_a_similar_message_alone_is_enough_and_its_share_is_scaled():
    other = candidate(families=(family("billing", "POST /invoice", "E500"),), origin=("billing", "POST /invoice"),
                      message="CardDeclined: processor said 502 after 2981 ms")
    found = score_candidate([PAYMENT], ORIGIN, "dependency", "CardDeclined: processor said 502 after 12 ms", other)
    assert (found["match"], found["score"]) == ("similar_message", 0.2)
    assert "error messages 100% alike with numbers and ids masked" in found["reason"]


def test_nothing_in_common_is_not_similar():
    unrelated = candidate(families=(CHECKOUT,), origin=("checkout", "POST /checkout"), cause="app")
    assert score_candidate([PAYMENT], ORIGIN, "dependency", None, unrelated) is None


def test_same_origin_with_another_cause_is_not_enough():
    assert score_candidate([CHECKOUT], ORIGIN, "deploy", None, candidate(families=(PAYMENT,))) is None


def test_ranked_by_score_then_most_recent():
    ranked = rank_similar([PAYMENT], ORIGIN, "dependency", None, [
        candidate("inc_a", families=(CHECKOUT,), onset=T0 - 10),                 # origin only: 0.3
        candidate("inc_b", onset=T0 - 100), candidate("inc_c", onset=T0 - 50),  # family + origin: 0.8
    ])
    assert [s["id"] for s in ranked] == ["inc_c", "inc_b", "inc_a"]
