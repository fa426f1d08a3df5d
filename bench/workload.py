"""Realistic wide events: 50 services x 20 steps, ~2% errors, traces, attributes.

Errors are skewed the way real ones are: most failing requests belong to a few noisy
families (steady background errors the engine must look at every tick without opening an
incident), the rest are scattered thinly over every step and error code.
"""

from __future__ import annotations

import random
from typing import Any

SERVICES = [f"svc-{name}" for name in (
    "gateway", "auth", "users", "profile", "catalog", "search", "pricing", "cart", "checkout", "payments",
    "fraud", "ledger", "invoices", "tax", "shipping", "inventory", "warehouse", "orders", "returns", "refunds",
    "notify", "email", "sms", "push", "reviews", "ratings", "recs", "ads", "promo", "coupons",
    "loyalty", "wallet", "fx", "geo", "stores", "media", "thumbs", "cdn-origin", "audit", "reports",
    "billing", "subs", "plans", "support", "chat", "feedback", "flags", "config", "sessions", "export",
)]
STEPS = [f"{verb} /v1/{noun}" for verb, noun in (
    ("GET", "items"), ("GET", "items/{id}"), ("POST", "items"), ("PUT", "items/{id}"), ("DELETE", "items/{id}"),
    ("GET", "status"), ("POST", "search"), ("GET", "list"), ("POST", "batch"), ("GET", "summary"),
    ("POST", "submit"), ("POST", "confirm"), ("GET", "history"), ("PATCH", "settings"), ("GET", "settings"),
    ("POST", "import"), ("GET", "export"), ("POST", "validate"), ("GET", "health/deep"), ("POST", "callback"),
)]
ERROR_CODES = ["upstream_timeout", "db_deadlock", "http_500", "validation_bug", "rate_limited"]
PEERS = ["postgres", "redis", "stripe", "s3", "kafka", "svc-users", "svc-pricing", "svc-inventory"]
REGIONS = ["eu-west-1", "us-east-1", "ap-south-1"]
TIERS = ["free", "pro", "enterprise"]

ERROR_RATE = 0.02
DEPENDENCY_SHARE = 0.2
# 20 noisy families take half of all errors: candidates every tick, never a spike.
NOISY = [(SERVICES[(i * 7) % 50], STEPS[(i * 3) % 20], ERROR_CODES[i % 5]) for i in range(20)]
NOISY_SHARE = 0.5


def _hex(rng: random.Random, chars: int) -> str:
    return f"{rng.getrandbits(chars * 4):0{chars}x}"


def event(rng: random.Random, ts: float, *, error: bool | None = None) -> dict[str, Any]:
    """One wide event at `ts`; `error` forces (or forbids) a failure."""
    failing = rng.random() < ERROR_RATE if error is None else error
    if failing and rng.random() < NOISY_SHARE:
        service, step, error_code = rng.choice(NOISY)
    else:
        service, step = rng.choice(SERVICES), rng.choice(STEPS)
        error_code = rng.choice(ERROR_CODES)
    dependency = rng.random() < DEPENDENCY_SHARE
    status = 500 if failing else 200
    item: dict[str, Any] = {
        "ts": round(ts, 6),
        "service": service,
        "env": "production",
        "version": f"1.{SERVICES.index(service) % 7}.3",
        "kind": "dependency" if dependency else "request",
        "step": step,
        "status": "error" if failing else "ok",
        "duration_ms": round(rng.lognormvariate(3, 0.8), 3),
        "trace_id": _hex(rng, 32),
        "span_id": _hex(rng, 16),
        "parent_span_id": _hex(rng, 16),
        "user_id": f"user-{rng.randrange(100_000)}",
        "attributes": {
            "http.request.method": step.split(" ", 1)[0],
            "http.response.status_code": status,
            "region": rng.choice(REGIONS),
            "customer.tier": rng.choice(TIERS),
            "host.name": f"{service}-{rng.randrange(12)}",
            "cart.items": rng.randrange(1, 20),
            "feature.new_checkout": rng.random() < 0.5,
        },
    }
    if dependency:
        item["peer"] = rng.choice(PEERS)
    if failing:
        item["error_code"] = error_code
    return item


def batch(rng: random.Random, ts: float, size: int = 100) -> list[dict[str, Any]]:
    """A client's batch: `size` events spread over the second before `ts`."""
    return [event(rng, ts - rng.random()) for _ in range(size)]
