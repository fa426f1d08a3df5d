"""gateway: the shop's front door. POST /api/orders -> checkout POST /checkout.

Its upstream for checkout can be switched at run time (POST /_demo/upstream), which is
how the driver deploys a new checkout blue/green without dropping a request.
"""

from __future__ import annotations

import onset_sdk
from flask import Flask, jsonify, request

from demo.services.runtime import base_app, call, set_endpoint


def create_app() -> Flask:
    app = base_app("gateway")

    @app.post("/api/orders")
    def place_order():
        order = request.get_json(force=True)
        onset_sdk.set_user_id(order.get("user"))
        onset_sdk.current_event()["sku"] = order.get("sku")
        response = call("POST", "checkout", "/checkout", json=order)
        if response is None:
            onset_sdk.set_error_code("checkout_unreachable")
            return jsonify(error="checkout unreachable"), 502
        if response.status_code >= 500:
            onset_sdk.set_error_code("checkout_failed")
            return jsonify(error="checkout failed", upstream_status=response.status_code), 502
        return jsonify(response.json()), response.status_code

    @app.post("/_demo/upstream")
    def switch_upstream():
        for name, url in request.get_json(force=True).items():
            set_endpoint(name, url)
        return jsonify(ok=True)

    return app
