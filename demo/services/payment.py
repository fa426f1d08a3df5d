"""payment: POST /charges, authorised by the external card processor (fake, not instrumented)."""

from __future__ import annotations

import onset_sdk
from flask import Flask, jsonify, request

from demo.services.runtime import base_app, call


def create_app() -> Flask:
    app = base_app("payment")

    @app.post("/charges")
    def charge():
        body = request.get_json(force=True)
        onset_sdk.set_user_id(body.get("user"))
        auth = call("POST", "card-processor", "/v1/authorize", json={"amount": body.get("amount")})
        if auth is None or auth.status_code >= 500:
            onset_sdk.set_error_code("card_processor_unavailable")
            return jsonify(error="card processor unavailable"), 502
        return jsonify(charge_id=auth.json().get("authorization"))

    return app
