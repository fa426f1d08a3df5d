"""checkout: POST /checkout -> inventory GET /stock/<sku>, then pricing, then payment POST /charges.

Two faults live here, both real bugs rather than switches on the error path:
* `pricing_bug` (scenario checkout_panic, turned on by POST /_demo/fault): pricing reads a
  discount that is now None and raises TypeError. Pricing runs under onset_sdk.safe_call,
  so the crash is also reported as a runtime signal.
* release 1.5.0 (scenario bad_deploy, DEMO_CHECKOUT_RELEASE=1.5.0): the new shipping fee
  reads order["shipping"], which the gateway does not send, and raises KeyError.
"""

from __future__ import annotations

import os
import uuid

import onset_sdk
from flask import Flask, jsonify, request

from demo.services.runtime import base_app, call

PRICES = {"sku-1": 1299, "sku-2": 2599, "sku-3": 499, "sku-4": 8999}
_faults: set[str] = set()


def price_order(sku: str, qty: int) -> int:
    discount = None if "pricing_bug" in _faults else 0.05
    return round(PRICES.get(sku, 999) * qty * (1 - discount))  # TypeError when the discount is None


def shipping_fee(order: dict) -> int:
    if os.environ.get("DEMO_CHECKOUT_RELEASE") == "1.5.0":
        return 0 if order["shipping"]["country"] == "NL" else 495  # 1.5.0: KeyError, no "shipping" sent
    return 0


def create_app() -> Flask:
    app = base_app("checkout")

    @app.post("/checkout")
    def checkout():
        order = request.get_json(force=True)
        sku, qty = order.get("sku", "sku-1"), int(order.get("qty", 1))
        onset_sdk.current_event()["sku"] = sku
        stock = call("GET", "inventory", f"/stock/{sku}")
        if stock is None or stock.status_code >= 500:
            onset_sdk.set_error_code("inventory_unavailable")
            return jsonify(error="inventory unavailable"), 503
        if stock.json().get("available", 0) < qty:
            return jsonify(error="out of stock"), 409
        total = onset_sdk.safe_call(price_order, sku, qty) + shipping_fee(order)
        charge = call("POST", "payment", "/charges", json={"amount": total, "user": order.get("user")})
        if charge is None or charge.status_code >= 500:
            onset_sdk.set_error_code("payment_failed")
            return jsonify(error="payment failed"), 502
        return jsonify(order_id=uuid.uuid4().hex[:12], total=total, charge=charge.json().get("charge_id"))

    @app.post("/_demo/fault")
    def set_fault():
        body = request.get_json(force=True)
        _faults.clear()
        _faults.update(body.get("faults", []))
        return jsonify(faults=sorted(_faults))

    return app
