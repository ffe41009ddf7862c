"""Endpoint × role matrix: every operation of the OpenAPI document, with no key, a bad key and each
role, answers as the contract says — cell by cell against the table below.

A cell is 401 (no key, a bad key), 403 (a role the operation does not admit) or "passes" (an
admitted role is neither 401 nor 403 — the request reaches validation or the handler: an unknown
id answers 404, an empty body 422). The requests write nothing: ids are unknown, bodies empty.

An operation of the document without a row here fails the test, and so does a row for an
operation the document no longer has: the matrix is kept with the API.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import app

pytestmark = pytest.mark.engine

# --- the contract, as data ------------------------------------------------------------------
#: Who may call each operation. ``public``: no key needed. ``vendor``: a vendor's key for its own
#: vendor (``{vendor_id}`` of the path); ``any-vendor``: any vendor's key gets past the role check
#: (the object's own vendor is checked against the object: an unknown id is 404 for all of them).
STAFF = "integrator viewer auditor admin"
WRITER = "integrator admin"
MATRIX: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/health"): "public",
    ("GET", "/api/v1/whoami"): STAFF,
    ("POST", "/api/v1/customers"): WRITER,
    ("GET", "/api/v1/customers/{customer_id}"): STAFF,
    ("PUT", "/api/v1/customers/{customer_id}/registered-address"): WRITER,
    ("POST", "/api/v1/customers/{customer_id}/financial-statements"): WRITER,
    ("GET", "/api/v1/customers/{customer_id}/financial-statements"): STAFF,
    ("GET", "/api/v1/customers/{customer_id}/credit-status"): STAFF,
    ("GET", "/api/v1/customers/{customer_id}/restrictions"): STAFF,
    ("POST", "/api/v1/loans"): WRITER,
    ("GET", "/api/v1/loans/{loan_id}"): STAFF,
    ("POST", "/api/v1/loans/{loan_id}/repayments"): WRITER,
    ("GET", "/api/v1/loans/{loan_id}/repayments"): STAFF,
    ("POST", "/api/v1/loans/{loan_id}/repayments/{repayment_id}/amendments"): WRITER,
    ("GET", "/api/v1/loans/{loan_id}/bucket-history"): STAFF,
    ("GET", "/api/v1/loans/{loan_id}/inspection-plan"): STAFF,
    ("GET", "/api/v1/loans/{loan_id}/classification-history"): STAFF,
    ("POST", "/api/v1/loans/{loan_id}/restructurings"): WRITER,
    ("GET", "/api/v1/loans/{loan_id}/restructurings"): STAFF,
    ("POST", "/api/v1/loans/{loan_id}/covenants"): WRITER,
    ("GET", "/api/v1/loans/{loan_id}/covenants"): STAFF,
    ("GET", "/api/v1/classification-changes"): STAFF,
    ("POST", "/api/v1/collaterals/{collateral_id}/valuations"): WRITER,
    ("GET", "/api/v1/collaterals/{collateral_id}/valuations"): STAFF,
    ("POST", "/api/v1/external-events"): WRITER,
    ("GET", "/api/v1/external-events"): STAFF,
    ("POST", "/api/v1/inspections"): WRITER,
    ("GET", "/api/v1/inspections"): STAFF,
    ("GET", "/api/v1/inspections/{inspection_id}"): STAFF,
    ("GET", "/api/v1/inspections/{inspection_id}/report.html"): STAFF,
    ("GET", "/api/v1/signals"): STAFF,
    ("GET", "/api/v1/signals/{signal_id}"): STAFF,
    ("GET", "/api/v1/signals/{signal_id}/history"): STAFF,
    ("GET", "/api/v1/signals/false-positives"): STAFF,
    ("POST", "/api/v1/signals/{signal_id}/acknowledge"): WRITER,
    ("POST", "/api/v1/signals/{signal_id}/resolve"): WRITER,
    ("POST", "/api/v1/credit-applications"): WRITER,
    ("GET", "/api/v1/credit-applications/{application_id}"): STAFF,
    ("POST", "/api/v1/rectifications"): "auditor admin",
    ("GET", "/api/v1/rectifications"): STAFF,
    ("GET", "/api/v1/rectifications/{rectification_id}"): STAFF,
    ("POST", "/api/v1/rectifications/{rectification_id}/evidence"): WRITER,
    ("POST", "/api/v1/vendors"): "admin",
    ("GET", "/api/v1/vendors"): STAFF,
    ("GET", "/api/v1/vendors/{vendor_id}"): f"{STAFF} vendor",
    ("GET", "/api/v1/vendors/{vendor_id}/assignments"): "admin vendor",
    ("POST", "/api/v1/vendors/{vendor_id}/visit-batches"): "admin vendor",
    ("GET", "/api/v1/visit-batches/{batch_id}"): f"{STAFF} any-vendor",
    ("GET", "/api/v1/opportunities"): STAFF,
    ("GET", "/api/v1/opportunities/{opportunity_id}"): STAFF,
    ("POST", "/api/v1/opportunities/{opportunity_id}/outcome"): WRITER,
    ("GET", "/api/v1/reminders"): STAFF,
    ("GET", "/api/v1/reminders/upcoming"): STAFF,
    ("GET", "/api/v1/technical-overdues"): STAFF,
    ("GET", "/api/v1/audit-events"): "auditor admin",
    # --- assessments (issue 12) ---
    ("GET", "/api/v1/assessments"): STAFF,
    ("GET", "/api/v1/assessments.csv"): STAFF,
    # --- due-diligence reviews (issue 12) ---
    ("POST", "/api/v1/due-diligence-reviews"): WRITER,
    ("GET", "/api/v1/due-diligence-reviews"): STAFF,
    ("GET", "/api/v1/due-diligence-reviews/{review_id}"): STAFF,
    ("POST", "/api/v1/due-diligence-reviews/{review_id}/appeal"): WRITER,
    # --- risk compensation (issue 12) ---
    ("POST", "/api/v1/compensation/pay-bases"): WRITER,
    ("GET", "/api/v1/compensation/ledger"): "integrator auditor admin",
    ("GET", "/api/v1/compensation/ledger.csv"): "integrator auditor admin",
}
#: Rows for operations being added right now (the audit trail): checked once the document has
#: them, not a stale row until then.
COMING = {("GET", "/api/v1/audit-events")}

#: The columns: who calls. ``vendor`` is vendor V001 on V001's paths, ``other-vendor`` vendor
#: V002 on V001's paths.
COLUMNS = (
    "no key",
    "bad key",
    "integrator",
    "viewer",
    "auditor",
    "admin",
    "vendor",
    "other-vendor",
)
OWN_VENDOR = "V001"


def expected(admitted: str, column: str, path: str) -> str:
    who = set(admitted.split())
    if "public" in who:
        return "passes"
    if column in ("no key", "bad key"):
        return "401"
    if column in who:
        return "passes"
    if column in ("vendor", "other-vendor"):
        if "any-vendor" in who:
            return "passes"
        if column == "vendor" and "vendor" in who and "{vendor_id}" in path:
            return "passes"
    return "403"


def actual(status: int) -> str:
    return str(status) if status in (401, 403) else "passes"


# --- requests that write nothing -------------------------------------------------------------


def _url(path: str, operation: dict[str, Any]) -> str:
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        name = parameter["name"]
        schema = parameter.get("schema", {})
        if name == "vendor_id":
            value = OWN_VENDOR
        elif schema.get("type") == "integer":
            value = str(min(987_654_321, schema.get("maximum", 987_654_321)))
        else:
            value = f"MATRIX-{uuid.uuid4().hex[:10]}"  # an id nobody has
        path = path.replace("{" + name + "}", value)
    return path


def _call(
    client: TestClient, method: str, url: str, operation: dict[str, Any], key: str | None
) -> int:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    body = {"json": {}} if "requestBody" in operation else {}
    return client.request(method, url, headers=headers, **body).status_code


@pytest.fixture(scope="module")
def keys(api, api_keys, database) -> dict[str, str | None]:
    from postloan.access import service as access
    from postloan.db import unit_of_work

    with unit_of_work(database) as session:
        other = access.issue(
            session,
            name=f"test-matrix-V002-{uuid.uuid4().hex[:6]}",
            role="vendor:V002",
            actor="tests",
        )
    return {
        "no key": None,
        "bad key": f"not-a-key-{uuid.uuid4().hex}",
        "integrator": api_keys["integrator"],
        "viewer": api_keys["viewer"],
        "auditor": api_keys["auditor"],
        "admin": api_keys["admin"],
        "vendor": api_keys[f"vendor:{OWN_VENDOR}"],
        "other-vendor": other,
    }


def test_every_operation_of_the_document_has_a_row_and_every_row_an_operation(api):
    operations = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    missing = sorted(operations - MATRIX.keys())
    stale = sorted(MATRIX.keys() - operations - COMING)
    assert not missing, f"operations without a row in MATRIX (add who may call them): {missing}"
    assert not stale, f"rows in MATRIX for operations the API no longer has: {stale}"


def test_every_cell_of_the_matrix_answers_as_the_contract_says(api, keys, capsys):
    client = TestClient(app, raise_server_exceptions=False)
    document = app.openapi()
    cells, wrong, server_errors = 0, [], []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            admitted = MATRIX.get((method.upper(), path))
            if admitted is None:
                continue  # reported by the test above
            url = _url(path, operation)
            for column in COLUMNS:
                status = _call(client, method.upper(), url, operation, keys[column])
                cells += 1
                want, got = expected(admitted, column, path), actual(status)
                if status >= 500 and path != "/api/v1/health":
                    server_errors.append(f"{method.upper()} {url} as {column}: {status}")
                if want != got:
                    wrong.append(
                        f"{method.upper()} {path} as {column}: expected {want}, got {status}"
                    )
    with capsys.disabled():
        print(
            f"\nrole matrix: {cells} cells, {len(wrong)} wrong, {len(server_errors)} server errors"
        )
    assert cells >= len(COLUMNS) * 30
    assert not wrong, "\n".join(wrong)
    assert not server_errors, "\n".join(server_errors)


def test_the_document_states_the_roles_the_matrix_expects(api):
    """The roles written in each operation's description (``x-roles``) are the matrix's row."""
    names = {"vendor:{vendor_id}": "vendor", "vendor:*": "any-vendor"}
    differ = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            row = MATRIX.get((method.upper(), path))
            if row is None:
                continue
            documented = (
                {"public"}
                if not operation.get("security")
                else {names.get(r, r) for r in operation.get("x-roles", [])}
            )
            if documented != set(row.split()):
                differ.append(
                    f"{method.upper()} {path}: document {sorted(documented)}, "
                    f"matrix {sorted(row.split())}"
                )
            if operation.get("security"):
                assert "**Roles:**" in operation.get("description", ""), (method, path)
    assert not differ, "\n".join(differ)
