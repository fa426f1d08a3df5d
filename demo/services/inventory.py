"""inventory: GET /stock/<sku>, answered from its backing store inventory-db (fake, not instrumented)."""

from __future__ import annotations

import onset_sdk
from flask import Flask, jsonify

from demo.services.runtime import base_app, call


def create_app() -> Flask:
    app = base_app("inventory")

    @app.get("/stock/<sku>")
    def stock(sku: str):
        row = call("GET", "inventory-db", f"/rows/{sku}")
        if row is None or row.status_code >= 500:
            onset_sdk.set_error_code("stock_unavailable")
            return jsonify(error="inventory store unavailable"), 503
        return jsonify(sku=sku, available=row.json().get("available", 0))

    return app
