"""The real OpenTelemetry SDK with its OTLP/HTTP exporter against a running Onset.

Three services (api-gateway → checkout → payment), each with its own TracerProvider and
exporter, propagate context as real services do. Healthy traffic, then payment starts
failing: the spans arrive as events, the burst opens an incident, and its propagation path
runs across the services to payment.
"""

from __future__ import annotations

import time

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.support.alert_payloads import OTLP
from tests.support.live import ADMIN_KEY, LiveServer
from tests.support.live import wait_until as _wait

pytestmark = pytest.mark.slow



class Shop:
    """A request through api-gateway → checkout → payment, traced by the real SDK."""

    def __init__(self, endpoint: str):
        self.providers = []
        self.tracers = {}
        for name, version, compression in (("api-gateway", "1.4.0", Compression.NoCompression),
                                           ("checkout", "2.7.1", Compression.Gzip),
                                           ("payment", "3.2.0", Compression.NoCompression)):
            provider = TracerProvider(resource=Resource.create({
                "service.name": name, "service.version": version, "deployment.environment.name": "production"}))
            exporter = OTLPSpanExporter(endpoint=endpoint, compression=compression,
                                        headers={"Authorization": f"Bearer {ADMIN_KEY}"})
            provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=100))
            self.providers.append(provider)
            self.tracers[name] = provider.get_tracer("onset-test")

    def request(self, fail: bool) -> str:
        gateway, checkout, payment = (self.tracers[n] for n in ("api-gateway", "checkout", "payment"))
        code = 502 if fail else 200
        with gateway.start_as_current_span("POST /checkout", kind=SpanKind.SERVER, attributes={
                "http.request.method": "POST", "http.route": "/checkout"}) as root:
            with gateway.start_as_current_span("POST", kind=SpanKind.CLIENT, attributes={
                    "http.request.method": "POST", "server.address": "checkout"}) as call_checkout:
                carrier: dict[str, str] = {}
                inject(carrier)
                with checkout.start_as_current_span("POST /orders", context=extract(carrier), kind=SpanKind.SERVER,
                                                    attributes={"http.request.method": "POST",
                                                                "http.route": "/orders"}) as orders:
                    with checkout.start_as_current_span("POST", kind=SpanKind.CLIENT, attributes={
                            "http.request.method": "POST", "server.address": "payment"}) as call_payment:
                        inner: dict[str, str] = {}
                        inject(inner)
                        with payment.start_as_current_span("POST /charge", context=extract(inner),
                                                           kind=SpanKind.SERVER, attributes={
                                                               "http.request.method": "POST", "http.route": "/charge",
                                                               "enduser.id": "user-1"}) as charge:
                            if fail:
                                try:
                                    raise ConnectionError("card processor returned 502")
                                except ConnectionError as exc:
                                    charge.record_exception(exc)
                                charge.set_status(Status(StatusCode.ERROR, "PMT_502"))
                            charge.set_attribute("http.response.status_code", code)
                        call_payment.set_attribute("http.response.status_code", code)
                    orders.set_attribute("http.response.status_code", code)
                call_checkout.set_attribute("http.response.status_code", code)
            root.set_attribute("http.response.status_code", code)
            return format(root.get_span_context().trace_id, "032x")

    def flush(self) -> None:
        for provider in self.providers:
            assert provider.force_flush(10_000)

    def shutdown(self) -> None:
        for provider in self.providers:
            provider.shutdown()


@pytest.fixture
def server(db_url, tmp_path):
    url = None if db_url.startswith("sqlite") else db_url
    live = LiveServer(tmp_path / "onset", url, env={"ONSET_RESOLVE_AFTER_SECONDS": "60"}).start()
    yield live
    live.stop()


def _chunks(data: bytes, size: int = 100):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def test_chunked_export_without_content_length_is_read_whole(server):
    # requests sends a generator body with Transfer-Encoding: chunked and no Content-Length.
    data = (OTLP / "checkout-502.payment.pb.gz").read_bytes()
    response = requests.post(f"{server.url}/v1/traces", data=_chunks(data), timeout=10, headers={
        "Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    story = server.get("/v1/traces/1a1bc36bac40909e03c9f591324799b9").json()
    assert [(s["service"], s["error_code"]) for s in story["spans"]] == [("payment", "ConnectionError")]


def test_real_sdk_traces_become_events_and_an_error_burst_opens_an_incident_across_services(server):
    shop = Shop(f"{server.url}/v1/traces")
    try:
        healthy = None
        started = time.time()
        while time.time() - started < 6.5:  # three prior windows of healthy traffic (2 s windows)
            healthy = shop.request(fail=False)
            time.sleep(0.05)
        shop.flush()
        story = server.get(f"/v1/traces/{healthy}")
        assert story.status_code == 200, story.text
        assert story.json()["services"] == ["api-gateway", "checkout", "payment"]

        failing = [shop.request(fail=True) for _ in range(12)]
        shop.flush()
        failed_story = server.get(f"/v1/traces/{failing[0]}").json()
        assert failed_story["summary"] == "api-gateway → checkout → payment ✗ (ConnectionError)"

        incidents = _wait(lambda: server.get("/v1/incidents", state="active").json()["incidents"], 10,
                          f"an incident\n{server.log()[-2000:]}")
        assert len(incidents) == 1, incidents
        incident_id = incidents[0]["id"]

        def analysed() -> dict | None:
            report = server.get(f"/v1/triage/{incident_id}").json()
            return report if report["where_it_started"]["origin"] else None

        report = _wait(analysed, 10, "the incident's origin")
        where = report["where_it_started"]
        assert where["origin"]["service"] == "payment" and where["origin"]["step"] == "POST /charge"
        assert [step["service"] for step in where["path"]][0] == "api-gateway"
        assert {"api-gateway", "checkout", "payment"} <= {step["service"] for step in where["path"]}
        assert where["exception"]["type"] == "ConnectionError"
    finally:
        shop.shutdown()
