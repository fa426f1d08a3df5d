"""The demo shop's fault scenarios and what Onset must conclude from each.

Plain data, no I/O: the driver injects `fault`, the acceptance tests and `onset
first-run` check the incident against `expected_*`. Each `why` is the chain of rules in
server/engine (origin.py, classify.py) that leads from the fault to the expectation.

The shop:  client -> gateway -> checkout -> inventory -> inventory-db   (fake, not instrumented)
                                        \\-> payment   -> card-processor (fake, not instrumented)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: str
    expected_cause: str
    expected_service: str
    expected_step: str
    expected_via: str | None
    why: str


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario(
        name="payment_502",
        fault="payment's upstream card processor answers 502 to every authorization",
        expected_cause="dependency", expected_service="payment", expected_step="POST /charges",
        expected_via="card-processor",
        why=("payment records its call to card-processor as a failing dependency event; nothing below it "
             "failed (the card processor sends nothing), so that call is the deepest failure of every "
             "trace: origin payment POST /charges via card-processor. With no deploy or crash before "
             "the onset, a failing first call means cause dependency. gateway's and checkout's failures "
             "share the traces and join the same incident."),
    ),
    Scenario(
        name="inventory_503",
        fault="inventory's backing store (inventory-db) answers 503; checkout stops before payment",
        expected_cause="dependency", expected_service="inventory", expected_step="GET /stock/<sku>",
        expected_via="inventory-db",
        why=("inventory's call to inventory-db is the deepest failing span (payment is never called), "
             "so the origin is inventory GET /stock/<sku> via inventory-db and the cause dependency."),
    ),
    Scenario(
        name="checkout_panic",
        fault="a bug in checkout's pricing raises TypeError on every order",
        expected_cause="app", expected_service="checkout", expected_step="POST /checkout",
        expected_via=None,
        why=("checkout's request fails with no failing call beneath it: origin checkout POST /checkout. "
             "Pricing runs under onset_sdk.safe_call, so the crash is also reported as a runtime signal, "
             "but that signal is sent while the first failing request is already running: it comes after "
             "the onset, and a change after the onset cannot have caused it. With no deploy, dependency "
             "or earlier crash, the cause is app."),
    ),
    Scenario(
        name="bad_deploy",
        fault="checkout 1.5.0 is deployed (onset_sdk.deploy, blue/green) and fails every order with KeyError",
        expected_cause="deploy", expected_service="checkout", expected_step="POST /checkout",
        expected_via=None,
        why=("the new checkout announces itself with onset_sdk.deploy before it takes traffic, and its "
             "events carry version 1.5.0 (Onset also sees the new version in traffic). The failure starts "
             "inside checkout POST /checkout, not in a call it made, and a deploy of that very service "
             "precedes the onset: cause deploy, high confidence."),
    ),
)}

DEFAULT_SCENARIO = "payment_502"
