"""The demo: a generated portfolio (about 2,000 loans), demo API keys, and a working day's inbox.

Deterministic (seeded), so the README can point at the same loans every time. What the demo
start leaves for each role (``INBOX`` says it in numbers; the README's "What each role sees in
Tasklist" in words):

* account managers: a first inspection of a new loan, routine inspections, a special
  inspection of a loan 45 days overdue, evidence owed for an overdue rectification;
* post-loan officers: an inspection's review, a vendor's visit batch to review;
* credit managers: a downgrade to confirm, an overdue rectification's escalation;
* credit approvers: a credit application with its post-loan dossier;
* the vendor: a visit assignment (``GET /vendors/V001/assignments`` with the demo vendor key);
* auditors: the audit trail and a completed inspection's report (``GET /audit-events``).

Two steps. :func:`seed` runs before the workers start, in one process with the database: the
scene loans (``postloanctl.generator.SCENES``), the overdue rectification, the inspections.
:func:`act_out` runs once the workers and the API are up: the demo people do the earlier
steps of the work (perform, review, visit) over the engine's REST API with their own
credentials, exactly as they would in Tasklist, and the vendor and the origination system call
the API with their keys. Both are idempotent: each step looks at what the database and the
engine's history already hold and does only what is missing, so a restart adds nothing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.import_rows import ROW_MODELS  # the API's input models: the same rules as REST
from postloan.access import service as access
from postloan.customers.models import Customer
from postloan.importer import Importer
from postloan.inspections.models import Inspection
from postloan.loans import service as loan_service
from postloan.rectifications.models import Rectification
from postloanctl.generator import demo_scenes, generate_portfolio, scene_loan

log = logging.getLogger("postloanctl.demo")

DEMO_API_KEYS = {
    # name: (role, key) -- documented in the README; created only outside production.
    "demo-integrator": ("integrator", "demo-integrator-key"),
    "demo-viewer": ("viewer", "demo-viewer-key"),
    "demo-auditor": ("auditor", "demo-auditor-key"),
    "demo-admin": ("admin", "demo-admin-key"),
    # The demo vendor FieldCo (config/vendors.yaml V001; Tasklist user vd_fieldco).
    "demo-vendor": ("vendor:V001", "demo-vendor-key"),
}
DEMO_VENDOR = "V001"

DEMO_LOANS = 2000

#: Generated loans with a routine inspection waiting (am_zhang, lead_hu, am_li, am_zhang).
ROUTINE_LOANS = ("L00001-1", "L00002-1", "L00003-1", "L00007-1")
#: The scenes (customer ids of ``generator.SCENES``) and what the demo start does with each.
FIRST = "C90001"  # a first inspection of a loan disbursed 6 days ago: am_li performs it
SPECIAL = "C90002"  # a special inspection (45 days overdue): am_zhang performs it
CONFIRM = "C90003"  # 40 days overdue: performed, reviewed: a credit manager confirms the downgrade
REVIEW = "C90004"  # a routine inspection performed by am_zhang: waits for a post-loan officer
REPORT = "C90005"  # a routine inspection done to its report; then a credit application
VISIT = "C90006"  # an outsourced visit waiting for the vendor
BATCH = "C90007"  # an outsourced visit the vendor made: its batch waits for review
RECTIFICATION_REF = "demo:overdue-rectification"

#: What each demo person's Tasklist holds at least right after the demo start, task key: count
#: (their own tasks and their groups' unassigned ones); the scheduler's run may add catch-up
#: inspections within each person's capacity. ``tests/ops/test_demo_inbox.py`` checks it.
INBOX: dict[str, dict[str, int]] = {
    "am_li": {"perform_inspection": 2},  # first (L90001-1), routine (L00003-1)
    "am_zhang": {"perform_inspection": 3, "awaiting_evidence": 1},  # special, 2 routine
    "lead_hu": {"perform_inspection": 1, "review_inspection": 1, "review_visit_batch": 1},
    "po_chen": {"review_inspection": 1, "review_visit_batch": 1},
    "po_wang": {"review_inspection": 1, "review_visit_batch": 1},
    "cm_liu": {"confirm_classification": 1, "handle_escalation": 1},
    "ca_zhao": {"approve_credit": 1},
}


def install_api_keys(session: Session) -> list[str]:
    created = []
    for name, (role, key) in DEMO_API_KEYS.items():
        if access.authenticate(session, key) is None:
            access.issue(session, name=name, role=role, actor="demo", key=key)
            created.append(name)
    return created


def load_portfolio(session: Session, loans: int = DEMO_LOANS, today: date | None = None) -> int:
    """Create the demo portfolio unless customers exist already; returns loans created.

    The generated portfolio (``postloanctl.generator``: about 1,300 customers, 2,000 loans,
    23,000 repayment rows, statements, valuations, external events) goes in through the bulk
    importer with the API's validation rules, in the caller's transaction. Customer ``C00001``
    and loan ``L00001-1`` belong to ``am_zhang``, ``L00002-1`` to ``lead_hu``, ``L00003-1`` to
    ``am_li``: the demo inspections start on those.
    """
    if session.scalar(select(func.count()).select_from(Customer)):
        return 0
    counts = Importer(session, ROW_MODELS, actor="demo", as_of=today).import_portfolio(
        generate_portfolio(loans, seed=20261128, today=today or date.today())
    )
    return counts["loans"]


def load_scenes(session: Session, today: date | None = None) -> int:
    """The scenes' customers and loans (``generator.SCENES``), imported after the nightly scan
    classified the portfolio, as a day's import is: the overdue ones are still "normal" until
    an inspection classifies them. Returns loans created (0 when they exist already)."""
    if session.get(Customer, FIRST) is not None:
        return 0
    counts = Importer(session, ROW_MODELS, actor="demo", as_of=today).import_portfolio(
        demo_scenes(today or date.today())
    )
    return counts["loans"]


def raise_overdue_rectification(session: Session, today: date | None = None) -> str | None:
    """A serious item raised 20 days ago on the overdue textile customer: its 15-day deadline
    passed 5 days ago, so the owner (am_zhang) owes evidence and the credit managers have the
    escalation. In the caller's transaction (its process is owed through the outbox)."""
    from postloan.application.rectifications import request_rectification_process
    from postloan.rectifications import service as rectifications

    raised = select(Rectification.id).where(Rectification.source_ref == RECTIFICATION_REF)
    if session.scalar(raised):
        return None
    raised_on = (today or date.today()) - timedelta(days=20)
    item = rectifications.raise_rectification(
        session,
        customer_id=SPECIAL,
        loan_id=scene_loan(SPECIAL),
        source="inspection",
        source_ref=RECTIFICATION_REF,
        title="Updated stock pledge register missing",
        description=(
            "The pledged stock register was last updated five months ago; the customer is to "
            "deliver a current register certified by the warehouse keeper."
        ),
        severity="serious",
        owner="am_zhang",
        raised_by="po_chen",
        today=raised_on,
    )
    request_rectification_process(session, item)
    return item.id


def open_inspection(session: Session, loan_id: str) -> Inspection | None:
    """The demo's inspection of the loan (the oldest not cancelled, open or done)."""
    return session.scalars(
        select(Inspection)
        .where(Inspection.loan_id == loan_id, Inspection.status != "cancelled")
        .order_by(Inspection.created_at)
    ).first()


def start_inspections(session: Session, engine: Any) -> list[str]:
    """The inbox's inspections, each once (a loan that has one already is left alone)."""
    from gateway.processes import start_planned_inspection, start_special_inspection

    started = []
    planned: list[tuple[str, str, str, str | None]] = [
        (loan, "routine", "Quarterly routine inspection", None) for loan in ROUTINE_LOANS
    ]
    planned += [
        (scene_loan(FIRST), "first", "First inspection after disbursement", None),
        (scene_loan(REVIEW), "routine", "Routine inspection every two months", None),
        (scene_loan(REPORT), "routine", "Routine inspection every two months", None),
        # Micro loans up to 1m CNY: a quarterly visit by the vendor (inspection_plan.dmn).
        (scene_loan(VISIT), "routine", "Quarterly outsourced visit", "outsourced"),
        (scene_loan(BATCH), "routine", "Quarterly outsourced visit", "outsourced"),
    ]
    for loan_id, kind, reason, mode in planned:
        if open_inspection(session, loan_id) is None:
            start_planned_inspection(
                session,
                engine,
                loan_id=loan_id,
                kind=kind,
                reason=reason,
                actor="demo",
                mode=mode,
            )
            started.append(loan_id)
    for customer in (SPECIAL, CONFIRM):
        loan_id = scene_loan(customer)
        if open_inspection(session, loan_id) is None:
            days = loan_service.arrears(session, loan_id, date.today())[0].days_past_due
            start_special_inspection(
                session,
                engine,
                loan_id,
                f"New overdue: instalment {days} days past due (repayment import)",
                f"repayment:{loan_id}",  # as the repayment trigger names it
                "demo",
            )
            started.append(loan_id)
    return started


def seed(session_factory: Callable[[], Any], engine: Any, today: date | None = None) -> bool:
    """The scenes, the overdue rectification and the inspections (before the workers start).
    Each step in its own transaction; one that fails is logged and the others go on (the demo
    must never keep the system from starting); returns whether all went well."""
    steps: list[tuple[str, Callable[[Session], Any]]] = [
        ("scene loans", lambda session: load_scenes(session, today)),
        ("overdue rectification", lambda session: raise_overdue_rectification(session, today)),
        ("inspections", lambda session: start_inspections(session, engine)),
    ]
    ok = True
    for name, step in steps:
        try:
            with session_factory() as session:
                result = step(session)
        except Exception as exc:  # noqa: BLE001 - logged; the system starts all the same
            log.warning("demo inbox: %s not created: %s", name, exc)
            ok = False
            continue
        log.info("demo inbox: %s: %s", name, result or "there already")
    return ok


# -- acting out the earlier steps --------------------------------------------------------------


def demo_passwords(identities: dict[str, Any]) -> dict[str, str]:
    return {u["id"]: u["password"] for u in identities.get("demo_users") or []}


class Stage:
    """The demo people at work: each acts through the engine's REST API as themselves."""

    def __init__(
        self,
        engine_url: str,
        admin: Any,
        passwords: dict[str, str],
        api_url: str,
        session_factory: Callable[[], Any],
        timeout: float = 180.0,
    ) -> None:
        from gateway.engine import EngineGateway

        self.admin = admin
        self.people = {
            user: EngineGateway(engine_url, user, password, timeout=60)
            for user, password in passwords.items()
        }
        self.api_url = api_url
        self.session_factory = session_factory
        self.timeout = timeout

    # -- small steps --

    def inspection_of(self, customer: str) -> str:
        with self.session_factory() as session:
            inspection = open_inspection(session, scene_loan(customer))
            if inspection is None:
                raise RuntimeError(f"no inspection of {scene_loan(customer)}")
            return inspection.id

    def done(self, business_key: str, key: str) -> bool:
        return bool(
            self.admin.historic_tasks(
                processInstanceBusinessKey=business_key, taskDefinitionKey=key, finished="true"
            )
        )

    def wait(self, what: str, probe: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found
            time.sleep(0.5)
        raise TimeoutError(f"demo: no {what} within {self.timeout:.0f}s")

    def task(self, business_key: str, key: str) -> dict[str, Any] | None:
        tasks = self.admin.tasks(processInstanceBusinessKey=business_key, taskDefinitionKey=key)
        return tasks[0] if tasks else None

    def work(
        self,
        user: str,
        business_key: str,
        key: str,
        answers: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> bool:
        """``user`` completes ``key`` of ``business_key`` once (never again after a restart);
        ``answers`` gets the task's variables and returns the form's fields."""
        if self.done(business_key, key):
            return False
        task = self.wait(f"task {key} of {business_key}", lambda: self.task(business_key, key))
        person = self.people[user]
        if task.get("assignee") != user:
            person.claim(task["id"], user)
        person.submit_form(task["id"], answers(person.task_variables(task["id"])))
        log.info("demo: %s completed %s of %s", user, key, business_key)
        return True

    def api(self, method: str, path: str, key: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method,
            f"{self.api_url}/api/v1{path}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
            **kwargs,
        )

    # -- the scenes --

    def perform(self, user: str, inspection_id: str) -> None:
        self.work(user, inspection_id, "perform_inspection", performed)

    def review(self, user: str, inspection_id: str) -> None:
        self.work(
            user,
            inspection_id,
            "review_inspection",
            lambda _: {
                "review_decision": "approve",
                "review_comment": "Checklist and evidence complete",
            },
        )

    def onsite_if_ordered(self, user: str, inspection_id: str, after: str) -> None:
        """An on-site verification follows an approval for high-risk loans and a sample."""
        if self.done(inspection_id, "onsite_verification"):
            return
        self.wait(
            f"the step after {after} of {inspection_id}",
            lambda: (
                self.admin.tasks(processInstanceBusinessKey=inspection_id)
                or self.completed(inspection_id)
            ),
        )
        if self.task(inspection_id, "onsite_verification"):
            self.work(
                user,
                inspection_id,
                "onsite_verification",
                lambda _: {
                    "onsite_result": "confirmed",
                    "onsite_findings": "Premises, stock and staff as recorded",
                },
            )

    def completed(self, inspection_id: str) -> bool:
        with self.session_factory() as session:
            inspection = session.get(Inspection, inspection_id)
            return inspection is not None and inspection.status == "completed"

    def visit(self, inspection_id: str) -> None:
        """The vendor visits and submits its batch with the demo vendor key (once)."""
        from postloan.vendors.models import VisitAssignment

        key = DEMO_API_KEYS["demo-vendor"][1]

        def assignment() -> str | None:
            with self.session_factory() as session:
                found = session.scalars(
                    select(VisitAssignment.status).where(
                        VisitAssignment.inspection_id == inspection_id
                    )
                ).first()
                return found

        if self.wait(f"vendor assignment of {inspection_id}", assignment) != "assigned":
            return  # visited already (a restart)
        with self.session_factory() as session:
            inspection = session.get(Inspection, inspection_id)
            assert inspection is not None
            customer = session.get(Customer, BATCH)
            assert customer is not None
            where = (
                getattr(customer, "latitude", None) or 31.7816,
                getattr(customer, "longitude", None) or 119.9465,
            )
        visited = datetime.now(UTC) - timedelta(hours=2)
        r = self.api(
            "POST",
            f"/vendors/{DEMO_VENDOR}/visit-batches",
            key,
            json={
                "visits": [
                    {
                        "inspection_id": inspection_id,
                        "visited_at": visited.isoformat(),
                        "latitude": where[0] + 0.0004,
                        "longitude": where[1],
                        "photo_sha256": [
                            hashlib.sha256(f"{inspection_id}:{n}".encode()).hexdigest()
                            for n in (1, 2)
                        ],
                        "notes": (
                            "Shop open at 10:40, owner Mr Zhou met; kitchen and stock seen, "
                            "eight staff at work, delivery invoices shown for October."
                        ),
                        "checklist_answers": {"business_operating_normally": True},
                    }
                ]
            },
        )
        if r.status_code != 201:
            raise RuntimeError(f"demo visit batch refused: {r.status_code} {r.text}")
        log.info("demo: vendor %s submitted batch %s", DEMO_VENDOR, r.json().get("id"))

    def credit_application(self) -> None:
        """Loan origination asks for a new line for the tea company (once)."""
        from postloan.credit.models import CreditApplication

        with self.session_factory() as session:
            asked = select(CreditApplication.id).where(CreditApplication.customer_id == REPORT)
            if session.scalar(asked):
                return
        r = self.api(
            "POST",
            "/credit-applications",
            DEMO_API_KEYS["demo-integrator"][1],
            json={"customer_id": REPORT, "product": "SME-WORKING-CAPITAL", "amount": "1500000.00"},
        )
        if r.status_code != 201:
            raise RuntimeError(f"demo credit application refused: {r.status_code} {r.text}")
        log.info("demo: credit application %s for %s", r.json().get("id"), REPORT)

    def scheduler_run(self) -> None:
        """One run of ``inspection_scheduler`` now, rather than ten minutes after the start: the
        inbox the demo shows is then the one the scheduler leaves (its capacity per person and
        day, ``config/scheduling.yaml``), and a later run of the day adds nothing."""
        key = "inspection_scheduler"

        def finished() -> int:
            return len(
                self.admin.historic_process_instances(processDefinitionKey=key, finished="true")
            )

        before = finished()
        jobs = self.admin.call("GET", "/job", params={"processDefinitionKey": key})
        if not jobs:
            log.warning("demo: no timer job of %s to run", key)
            return
        self.admin.call("POST", f"/job/{jobs[0]['id']}/execute")
        self.wait("the scheduler run to finish", lambda: finished() > before)
        log.info("demo: inspection scheduler ran once")
        self.settle()

    def settle(self) -> None:
        """Wait until the workers have no work left (the inspections just started have reached
        their people): the inbox the banner announces is the one people find."""
        quiet = 0

        def idle() -> bool:
            nonlocal quiet
            open_work = self.admin.call(
                "GET",
                "/external-task/count",
                params={"active": "true", "withRetriesLeft": "true"},
            )
            quiet = quiet + 1 if not open_work["count"] else 0
            return quiet >= 3

        self.wait("the workers to finish the demo's work", idle)

    def run(self) -> None:
        review = self.inspection_of(REVIEW)
        report = self.inspection_of(REPORT)
        confirm = self.inspection_of(CONFIRM)
        batch = self.inspection_of(BATCH)
        self.perform("am_zhang", review)
        self.perform("lead_hu", report)
        self.perform("am_li", confirm)
        self.review("po_chen", report)
        self.onsite_if_ordered("po_wang", report, "review_inspection")
        self.review("po_wang", confirm)
        self.onsite_if_ordered("po_chen", confirm, "review_inspection")
        self.wait(f"the report of {report}", lambda: self.completed(report))
        self.credit_application()
        self.visit(batch)
        self.scheduler_run()


def performed(variables: dict[str, Any]) -> dict[str, Any]:
    """The perform form as a diligent account manager fills it in: every point in order."""
    codes = [item["code"] for item in variables.get("inspection_items") or []]
    return {
        "funds_used_as_agreed": True,
        "business_operating_normally": True,
        "collateral_intact": True,
        "approval_conditions_met": True,
        "items_in_order": codes,
        "items_not_applicable": [],
        "item_notes": "Photos 1-6 and the supplier invoices are in the credit file",
        "inspection_findings": (
            "Visited the premises with the owner; operations normal, stock and equipment as "
            "pledged, invoices match the drawdowns."
        ),
        "inspection_conclusion": "satisfactory",
    }


def act_out(settings: Any, timeout: float = 600.0) -> bool:
    """The earlier steps of the demo's work, done by the demo people (see the module's
    docstring). Returns False (and logs why) when something did not happen in time: the
    system runs on; the next start tries again."""
    from gateway.engine import EngineGateway
    from postloan.db import unit_of_work

    identities = yaml.safe_load(settings.identities_file.read_text(encoding="utf-8"))
    admin = EngineGateway(
        settings.engine_url,
        settings.engine_admin_user,
        settings.engine_admin_password.get_secret_value(),
        timeout=60,
    )
    stage = Stage(
        settings.engine_url,
        admin,
        demo_passwords(identities),
        f"http://{settings.api_host}:{settings.api_port}",
        lambda: unit_of_work(settings.database_url),
        timeout=timeout,
    )
    try:
        stage.run()
    except Exception as exc:  # noqa: BLE001 - the demo's stage must never stop the system
        log.warning("demo inbox not complete: %s", exc)
        return False
    log.info("demo inbox ready")
    return True
