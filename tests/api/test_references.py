"""References are checked, with a 422 naming the field: a customer's account manager must be an
engine user in group account-managers, the branch in config/branches.yaml, the rating in the
scale (or a bureau score in range), a loan's product in the catalogue. The bulk importer applies
the same rules, asking the directory once per batch for the distinct managers, not per row.

The fast tests run an app of their own with a stand-in directory; the engine tests ask the real
engine (its provisioned users, the API's technical user's rights, the brief cache).
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlite_template import copy_of, sqlite_template  # noqa: F401 - the fixture

from api.deps import get_engine, get_services
from api.import_rows import ROW_MODELS
from config.settings import Settings, get_settings
from postloan.access import service as access
from postloan.application.ports import EngineFailure, database_unit
from postloan.application.services import Services
from postloan.classification.rules import bundled_table
from postloan.customers import references
from postloan.customers.models import Customer
from postloan.db import get_engine as db_engine
from postloan.db import unit_of_work
from postloan.importer import Importer, ImportFailed
from postloan.loans.models import Loan
from postloanctl.generator import generate_portfolio

TODAY = date.today()
MANAGERS = {"am_li", "am_zhang", "lead_hu"}


class StandInDirectory:
    """The engine's group account-managers, counting the look-ups it is asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, frozenset[str]]] = []

    def members_of(self, group: str, users: Any) -> set[str]:
        self.calls.append((group, frozenset(users)))
        return set(users) & MANAGERS if group == "account-managers" else set()

    def table(self, key: str) -> Any:
        return bundled_table()

    def decider(self, key: str) -> Any:
        raise EngineFailure(0, "no engine in this test")


def customer(customer_id: str = "C-REF", **over: Any) -> dict[str, Any]:
    return {
        "id": customer_id,
        "name": "Reference Co",
        "segment": "sme",
        "industry": "textiles",
        "branch": "BR-SH-01",
        "account_manager": "am_li",
        "credit_rating": "BBB",
        **over,
    }


def loan(loan_id: str = "L-REF", customer_id: str = "C-REF", **over: Any) -> dict[str, Any]:
    return {
        "id": loan_id,
        "customer_id": customer_id,
        "product": "SME-WORKING-CAPITAL",
        "amount": "300000",
        "currency": "CNY",
        "disbursed_on": (TODAY - timedelta(days=100)).isoformat(),
        "maturity_on": (TODAY + timedelta(days=300)).isoformat(),
        "purpose": "stock",
        **over,
    }


@pytest.fixture
def db(tmp_path, sqlite_template) -> Any:  # noqa: F811
    url = copy_of(sqlite_template, tmp_path / "references.db")
    yield url
    db_engine(url).dispose()


@pytest.fixture
def directory() -> StandInDirectory:
    return StandInDirectory()


@pytest.fixture
def client(db, directory) -> TestClient:
    from api.main import create_app

    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(database_url=db)
    app.dependency_overrides[get_engine] = lambda: None
    app.dependency_overrides[get_services] = lambda: Services(
        uow=database_unit(db), engine=directory
    )
    with unit_of_work(db) as session:
        key = access.issue(session, name="k-int", role="integrator", actor="tests")
    test_client = TestClient(app)
    test_client.headers["Authorization"] = f"Bearer {key}"
    return test_client


def count(url: str, model: Any) -> int:
    with unit_of_work(url) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"account_manager": "am_nobody"}, "account_manager", "group account-managers"),
        ({"account_manager": "po_chen"}, "account_manager", "group account-managers"),
        ({"branch": "BR-XX-99"}, "branch", "not a known branch"),
        ({"credit_rating": "ZZZ"}, "credit_rating", "rating scale"),
        ({"credit_rating": "1200"}, "credit_rating", "credit score from 300 to 900"),
    ],
)
def test_a_customer_with_an_unknown_reference_is_refused(client, db, over, field, words):
    r = client.post("/api/v1/customers", json=customer(**over))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == field, body
    assert words in body["detail"], body
    assert count(db, Customer) == 0


@pytest.mark.parametrize("rating", ["BBB", "a-", "AA+", "720"])
def test_ratings_of_the_scale_and_bureau_scores_in_range_are_accepted(client, rating):
    r = client.post("/api/v1/customers", json=customer(credit_rating=rating))
    assert r.status_code == 201, r.text


def test_a_loan_of_a_product_outside_the_catalogue_is_refused(client, db):
    assert client.post("/api/v1/customers", json=customer()).status_code == 201
    r = client.post("/api/v1/loans", json=loan(product="SME-WC"))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "product"
    assert "not in the product catalogue" in r.json()["detail"]
    assert count(db, Loan) == 0
    assert client.post("/api/v1/loans", json=loan()).status_code == 201


def test_the_reference_lists_are_configuration():
    assert set(references.branches()) >= {"BR-SH-01", "BR-BJ-02"}
    assert references.product_problem("CORP-TERM") is None
    assert references.product_problem("default") is not None  # the fallback is no product
    assert references.rating_problem("bbb") is None
    assert references.score_range() == (300.0, 900.0)


def test_the_importer_applies_the_same_rules_with_line_and_field(db, directory):
    rows = [
        (2, customer("C-I1")),
        (3, customer("C-I2", branch="BR-NOPE")),
        (4, customer("C-I3", credit_rating="Z")),
        (5, customer("C-I4", account_manager="am_ghost")),
        (6, customer("C-I5", account_manager="am_ghost")),
    ]
    with pytest.raises(ImportFailed) as failed, unit_of_work(db) as session:
        Importer(session, ROW_MODELS, directory=directory).import_rows("customers", lambda: rows)
    found = {(p.line, p.field) for p in failed.value.problems}
    assert found == {
        (3, "branch"),
        (4, "credit_rating"),
        (5, "account_manager"),
        (6, "account_manager"),
    }
    assert failed.value.status == 422
    assert count(db, Customer) == 0
    with unit_of_work(db) as session:
        Importer(session, ROW_MODELS).import_rows("customers", lambda: [(2, customer("C-I1"))])
    with pytest.raises(ImportFailed) as failed, unit_of_work(db) as session:
        Importer(session, ROW_MODELS).import_rows(
            "loans", lambda: [(2, loan("L-I1", "C-I1", product="NOPE"))]
        )
    assert [(p.line, p.field) for p in failed.value.problems] == [(2, "product")]


def test_the_demo_portfolio_import_asks_the_directory_once_per_batch_not_per_row(db, directory):
    started = time.perf_counter()
    with unit_of_work(db) as session:
        counts = Importer(
            session, ROW_MODELS, actor="tests", as_of=TODAY, directory=directory, batch=5000
        ).import_portfolio(generate_portfolio(300, seed=7, today=TODAY))
    seconds = time.perf_counter() - started
    assert counts["loans"] == 300 and counts["customers"] > 100
    # one look-up (for all the distinct managers) per written batch of customers
    assert len(directory.calls) == 1, directory.calls
    assert directory.calls[0] == ("account-managers", frozenset(MANAGERS))
    assert seconds < 60


def test_an_imported_portfolio_with_an_unknown_manager_is_refused_whole(db, directory):
    records = list(generate_portfolio(20, seed=7, today=TODAY))
    first = next(i for i, (kind, _) in enumerate(records) if kind == "customers")
    records[first] = ("customers", {**records[first][1], "account_manager": "am_left_the_bank"})
    with pytest.raises(ImportFailed) as failed, unit_of_work(db) as session:
        Importer(session, ROW_MODELS, directory=directory).import_portfolio(records)
    assert [(p.line, p.field) for p in failed.value.problems] == [(first + 1, "account_manager")]


# -- the real engine ------------------------------------------------------------------------


@pytest.mark.engine
def test_the_engine_knows_who_is_an_account_manager(api, admin):
    from gateway.directory import GroupDirectory, forget

    forget()
    r = api.post("/api/v1/customers", json=customer("C-REF-E1", account_manager="am_nobody"))
    assert r.status_code == 422 and r.json()["field"] == "account_manager", r.text
    r = api.post("/api/v1/customers", json=customer("C-REF-E2", account_manager="po_chen"))
    assert r.status_code == 422 and r.json()["field"] == "account_manager", r.text
    r = api.post("/api/v1/customers", json=customer("C-REF-E3", account_manager="lead_hu"))
    assert r.status_code == 201, r.text
    # a manager provisioned a moment ago is found once the short re-check interval has passed
    admin.call(
        "POST",
        "/user/create",
        json={"profile": {"id": "am_new_ref"}, "credentials": {"password": "pw-am-new-ref"}},
    )
    try:
        directory = GroupDirectory(admin, recheck_after=0.0)
        assert directory.members_of("account-managers", {"am_new_ref"}) == set()
        admin.call("PUT", "/group/account-managers/members/am_new_ref")
        assert directory.members_of("account-managers", {"am_new_ref", "am_li"}) == {
            "am_new_ref",
            "am_li",
        }
    finally:
        admin.call("DELETE", "/user/am_new_ref")
        forget()


@pytest.mark.engine
def test_the_importer_asks_the_real_engine(provisioned, tmp_path, sqlite_template):  # noqa: F811
    from gateway.engine import EngineGateway
    from gateway.ports import EngineAdapter

    url = copy_of(sqlite_template, tmp_path / "import-engine.db")
    directory = EngineAdapter(
        EngineGateway(
            provisioned.engine_url,
            provisioned.engine_api_user,
            provisioned.engine_api_password.get_secret_value(),
        )
    )
    rows = [(2, customer("C-IE1")), (3, customer("C-IE2", account_manager="au_sun"))]
    with pytest.raises(ImportFailed) as failed, unit_of_work(url) as session:
        Importer(session, ROW_MODELS, directory=directory).import_rows("customers", lambda: rows)
    assert [(p.line, p.field) for p in failed.value.problems] == [(3, "account_manager")]
    db_engine(url).dispose()
