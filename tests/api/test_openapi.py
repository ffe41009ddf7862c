"""The OpenAPI document tells the truth: security scheme, roles, every error response with the
error shape the API really sends, time zones; and no error message names an internal address."""

from __future__ import annotations

import json
import socket
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import errors
from api.deps import get_engine
from api.main import app
from gateway.engine import EngineError, EngineGateway

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
CUSTOMER = {
    "name": "Doc Co",
    "segment": "sme",
    "industry": "logistics",
    "branch": "BR-BJ-02",
    "account_manager": "am_zhang",
    "credit_rating": "A",
}


def operations():
    for path, ops in app.openapi()["paths"].items():
        for method, operation in ops.items():
            yield method.upper(), path, operation


def test_one_bearer_scheme_on_every_operation_but_health():
    document = app.openapi()
    assert document["components"]["securitySchemes"] == {
        "apiKey": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "API key",
            "description": document["components"]["securitySchemes"]["apiKey"]["description"],
        }
    }
    for method, path, operation in operations():
        if path == "/api/v1/health":
            assert operation["security"] == [], "health needs no key"
        else:
            assert operation["security"] == [{"apiKey": []}], (method, path)
            assert "**Roles:**" in operation["description"], (method, path)
        names = [p["name"].lower() for p in operation.get("parameters", [])]
        assert "authorization" not in names, f"{method} {path}: the key is the security scheme's"


def test_every_error_response_is_the_error_body_and_fastapis_422_is_gone():
    document = app.openapi()
    text = json.dumps(document)
    assert "HTTPValidationError" not in text and '"ValidationError"' not in text
    body = document["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"error", "detail"}
    assert set(body["properties"]) == {"error", "detail", "field", "problems"}
    for method, path, operation in operations():
        responses = operation["responses"]
        for status, response in responses.items():
            if int(status) < 400 or path == "/api/v1/health":
                continue
            assert response["content"]["application/json"]["schema"] == ERROR_REF, (
                method,
                path,
                status,
            )
        if path != "/api/v1/health":
            assert {"401", "403"} <= responses.keys(), (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if operation.get("parameters") or "requestBody" in operation:
            assert "422" in responses, (method, path)


def test_errors_the_services_raise_are_documented_where_they_can_happen():
    ops = {(m, p): o for m, p, o in operations()}
    # a duplicate id, an open special inspection, a report not ready yet: 409
    assert "409" in ops[("POST", "/api/v1/customers")]["responses"]
    assert "409" in ops[("POST", "/api/v1/inspections")]["responses"]
    assert "409" in ops[("GET", "/api/v1/inspections/{inspection_id}/report.html")]["responses"]
    # a list with nothing to conflict with: none
    assert "409" not in ops[("GET", "/api/v1/signals")]["responses"]
    # starting a process needs the engine: 503; reading a customer does not
    assert "503" in ops[("POST", "/api/v1/inspections")]["responses"]
    assert "503" not in ops[("GET", "/api/v1/customers/{customer_id}")]["responses"]
    assert "503" in ops[("GET", "/api/v1/health")]["responses"]


def test_date_times_are_documented_with_their_time_zone():
    document = app.openapi()
    seen = 0

    def walk(node):
        nonlocal seen
        if isinstance(node, dict):
            if node.get("format") == "date-time":
                seen += 1
                assert "time zone" in node.get("description", ""), node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert seen > 10
    sent = document["components"]["schemas"]["RectificationOut"]["properties"]["created_at"]
    assert sent["pattern"] == r"(Z|[+-]\d{2}:\d{2})$"


# --- no internal address in an error ---------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_engine_and_unexpected_errors_name_no_internal_address():
    port = _closed_port()
    probe = FastAPI()
    errors.install(probe)

    @probe.get("/engine-down")
    def engine_down():
        raise EngineError(
            0,
            f"engine unreachable at http://10.1.2.3:{port}/engine-rest: "
            f"HTTPConnectionPool(host='10.1.2.3', port={port})",
        )

    @probe.get("/engine-refused")
    def engine_refused():
        raise EngineError(500, f"ProcessEngineException at engine.internal.bank:{port}")

    @probe.get("/boom")
    def boom():
        raise RuntimeError(f"could not connect to db.internal.bank:{port}")

    client = TestClient(probe, raise_server_exceptions=False)
    for url, status in (("/engine-down", 503), ("/engine-refused", 503), ("/boom", 500)):
        r = client.get(url)
        assert r.status_code == status
        assert set(r.json()) <= {"error", "detail", "field", "problems"}
        for leak in (str(port), "10.1.2.3", "internal.bank", "http://", "engine-rest"):
            assert leak not in r.text, (url, r.text)


@pytest.mark.engine
def test_an_engine_at_a_closed_port_is_never_named_to_the_caller(api):
    customer_id, loan_id = f"C-{uuid.uuid4().hex[:8]}", f"L-{uuid.uuid4().hex[:8]}"
    assert api.post("/api/v1/customers", json={"id": customer_id, **CUSTOMER}).status_code == 201
    assert (
        api.post(
            "/api/v1/loans",
            json={
                "id": loan_id,
                "customer_id": customer_id,
                "product": "SME-WORKING-CAPITAL",
                "amount": "1000.00",
                "currency": "CNY",
                "disbursed_on": "2026-01-01",
                "maturity_on": "2027-01-01",
                "purpose": "stock",
            },
        ).status_code
        == 201
    )
    port = _closed_port()
    url = f"http://127.0.0.1:{port}/engine-rest"
    app.dependency_overrides[get_engine] = lambda: EngineGateway(url, "svc-api", "x", timeout=2)
    try:
        answers = [
            TestClient(app).get("/api/v1/health"),
            api.post("/api/v1/inspections", json={"loan_id": loan_id, "reason": "closed port"}),
            api.post(
                "/api/v1/credit-applications",
                json={
                    "customer_id": customer_id,
                    "product": "SME-WORKING-CAPITAL",
                    "amount": "5000.00",
                },
            ),
        ]
    finally:
        app.dependency_overrides.pop(get_engine, None)
    # health says the engine is down; the writes are stored with their process start owed
    # (transactional outbox): 201, process_instance_id null until the relay starts it
    assert [r.status_code for r in answers] == [503, 201, 201], [r.text for r in answers]
    assert [r.json()["process_instance_id"] for r in answers[1:]] == [None, None]
    for r in answers:
        for leak in (
            str(port),
            "127.0.0.1",
            "localhost",
            "engine-rest",
            "http://",
            "HTTPConnection",
        ):
            assert leak not in r.text, r.text
