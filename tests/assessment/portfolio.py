"""A small portfolio seeded by hand for the third quarter of 2026, with every fact the indicators
count; the tests compute the expected indicator values from the list below, by hand.

Customers: C1 (am_li) and C2 (am_zhang) in branch BR-SH-01, C3 (am_zhang) in BR-BJ-02; one loan
each (L1, L2, L3). Vendors VA (quality 80, L2's and L3's outsourced visits) and VB (quality 95,
nothing else).

Inspections (due, done, inspector, reviewer, rework, vendor):
  I1 L1 due 07-10 done 07-09  am_li    po_chen 0       on time
  I2 L1 due 08-10 done 08-15  am_li    po_chen 1       late, reworked
  I3 L1 due 09-20 open        -        -       0       missing (the customer's am_li answers)
  I4 L2 due 07-20 done 07-20  am_zhang po_wang 2  VA   on time, reworked
  I5 L3 due 09-25 done 10-02  am_zhang po_wang 0  VA   missing (not done by 09-30)
  I6 L3 due 06-20 done 07-05  am_zhang po_chen 0       due before Q3; completed in Q3
  I7 L2 due 08-01 cancelled                            not counted
On-site verifications: I2 discrepancies (08-16), I4 confirmed (07-21), I5 discrepancies (10-03,
after Q3).
Bucket changes out of "current": L1 08-20 (1 day past due), L3 09-10 (5 days: overdue from
09-06), L2 06-01 (before Q3).
Signals (created, respond by, responded, owner role):
  S1 L1      created 08-01 respond 08-05 responded 08-04 am_li     account_manager
  S2 C3      created 09-08 respond 09-12 responded 09-14 am_zhang  account_manager
  S3 C2      created 07-10 respond 07-15 responded 07-15 po_wang   postloan_officer
  S4 C2      created 09-20 respond 09-30 not responded             postloan_officer
  S5 L3      created 2025-12-01 respond 2025-12-10                 account_manager
  S6 C1      created 07-15 respond 07-20 responded 07-19 cm_liu    credit_manager
Rectifications (deadline, closed): R1 C1 07-31 / 07-30; R2 C2 08-31 / 09-05; R3 C3 09-15 open;
R4 C1 10-15 open (after Q3).
Instalments due in Q3 (paid days late): L1 07-15 (0), 08-15 (2, full), 09-15 (unpaid);
L2 07-25 (2, part paid), 08-25 (40); L3 09-01 (1, full); L1 06-15 (2, before Q3).
Credit applications decided (rating): C1 08-10 good; C2 09-01 poor; C2 07-10 adequate;
C3 10-10 good (after Q3).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from helpers import customer_row
from sqlalchemy.orm import Session

from postloan.credit.models import CreditApplication
from postloan.inspections.models import Inspection, InspectionFinding
from postloan.loans.models import DelinquencyBucketChange, Loan, Repayment
from postloan.rectifications.models import Rectification
from postloan.signals.models import RiskSignal
from postloan.vendors.models import Vendor, VisitAssignment

PERIOD = "2026-Q3"
TODAY = date(2026, 12, 3)
SH, BJ = "BR-SH-01", "BR-BJ-02"


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=UTC)


def d(day: str) -> date:
    return date.fromisoformat(day)


def seed(session: Session) -> None:
    for cid, branch, manager in (
        ("C1", SH, "am_li"),
        ("C2", SH, "am_zhang"),
        ("C3", BJ, "am_zhang"),
    ):
        session.add(customer_row(cid, branch=branch, account_manager=manager))
    session.flush()
    for n in (1, 2, 3):
        session.add(
            Loan(
                id=f"L{n}",
                customer_id=f"C{n}",
                product="SME-OPERATING",
                amount=Decimal("300000"),
                currency="CNY",
                disbursed_on=d("2025-01-10"),
                maturity_on=d("2028-01-10"),
                purpose="stock",
            )
        )
    session.add_all([Vendor(id="VA", name="Vendor A", quality_score=80.0)])
    session.add_all([Vendor(id="VB", name="Vendor B", quality_score=95.0)])
    session.flush()
    inspections = [
        ("I1", "L1", "2026-07-10", at("2026-07-09"), "am_li", "po_chen", 0, "completed"),
        ("I2", "L1", "2026-08-10", at("2026-08-15"), "am_li", "po_chen", 1, "completed"),
        ("I3", "L1", "2026-09-20", None, None, None, 0, "in_progress"),
        ("I4", "L2", "2026-07-20", at("2026-07-20", 23), "am_zhang", "po_wang", 2, "completed"),
        ("I5", "L3", "2026-09-25", at("2026-10-02"), "am_zhang", "po_wang", 0, "completed"),
        ("I6", "L3", "2026-06-20", at("2026-07-05"), "am_zhang", "po_chen", 0, "completed"),
        ("I7", "L2", "2026-08-01", None, None, None, 0, "cancelled"),
    ]
    for iid, lid, due, done, inspector, reviewer, rework, status in inspections:
        session.add(
            Inspection(
                id=iid,
                loan_id=lid,
                kind="special" if iid == "I7" else "routine",
                reason="plan",
                status=status,
                requested_by="scheduler",
                inspector=inspector,
                reviewer=reviewer,
                completed_at=done,
                report={} if status == "completed" else None,
                due_on=d(due),
                rework_count=rework,
            )
        )
    session.flush()
    for iid, lid, cid in (("I4", "L2", "C2"), ("I5", "L3", "C3")):
        session.add(
            VisitAssignment(
                inspection_id=iid,
                vendor_id="VA",
                loan_id=lid,
                customer_id=cid,
                window_start=at("2026-07-01"),
                window_end=at("2026-09-30"),
            )
        )
    for iid, result, day in (
        ("I2", "discrepancies", "2026-08-16"),
        ("I4", "confirmed", "2026-07-21"),
        ("I5", "discrepancies", "2026-10-03"),
    ):
        session.add(
            InspectionFinding(
                inspection_id=iid,
                source="onsite_verification",
                code="ONSITE_RESULT",
                severity="info" if result == "confirmed" else "orange",
                summary=f"On-site verification: {result}",
                evidence={"result": result, "findings": "seen", "verifier": "po_chen"},
                created_at=at(day),
            )
        )
    for lid, day, dpd in (
        ("L1", "2026-08-20", 1),
        ("L3", "2026-09-10", 5),
        ("L2", "2026-06-01", 3),
    ):
        session.add(
            DelinquencyBucketChange(
                loan_id=lid,
                changed_on=d(day),
                from_bucket="current",
                to_bucket="1-30",
                days_past_due=dpd,
            )
        )
    signals = [
        (
            "S1",
            "C1",
            "L1",
            "2026-08-01",
            "2026-08-05",
            at("2026-08-04"),
            "am_li",
            "account_manager",
        ),
        (
            "S2",
            "C3",
            None,
            "2026-09-08",
            "2026-09-12",
            at("2026-09-14"),
            "am_zhang",
            "account_manager",
        ),
        (
            "S3",
            "C2",
            None,
            "2026-07-10",
            "2026-07-15",
            at("2026-07-15", 18),
            "po_wang",
            "postloan_officer",
        ),
        ("S4", "C2", None, "2026-09-20", "2026-09-30", None, None, "postloan_officer"),
        ("S5", "C3", "L3", "2025-12-01", "2025-12-10", None, None, "account_manager"),
        (
            "S6",
            "C1",
            None,
            "2026-07-15",
            "2026-07-20",
            at("2026-07-19"),
            "cm_liu",
            "credit_manager",
        ),
    ]
    for code, cid, lid, created, respond_by, responded, responder, role in signals:
        session.add(
            RiskSignal(
                code=f"TEST_{code}",
                customer_id=cid,
                loan_id=lid,
                severity="orange",
                owner_role=role,
                status="resolved" if responded else "open",
                summary=code,
                source="test",
                dedupe_key=f"test:{code}",
                respond_by=d(respond_by),
                last_seen_at=at(created),
                responded_at=responded,
                responded_by=responder,
                created_at=at(created),
            )
        )
    for rid, cid, deadline, closed in (
        ("R1", "C1", "2026-07-31", at("2026-07-30")),
        ("R2", "C2", "2026-08-31", at("2026-09-05")),
        ("R3", "C3", "2026-09-15", None),
        ("R4", "C1", "2026-10-15", None),
    ):
        session.add(
            Rectification(
                id=rid,
                customer_id=cid,
                source="audit",
                title=rid,
                description=rid,
                severity="major",
                owner="am_li",
                raised_by="auditor_a",
                deadline=d(deadline),
                status="closed" if closed else "open",
                closed_at=closed,
            )
        )
    for lid, due, late, part in (
        ("L1", "2026-07-15", 0, False),
        ("L1", "2026-08-15", 2, False),
        ("L1", "2026-09-15", None, False),
        ("L2", "2026-07-25", 2, True),
        ("L2", "2026-08-25", 40, False),
        ("L3", "2026-09-01", 1, False),
        ("L1", "2026-06-15", 2, False),
    ):
        due_on = d(due)
        session.add(
            Repayment(
                loan_id=lid,
                due_on=due_on,
                due_amount=Decimal("1000"),
                paid_on=None if late is None else due_on + timedelta(days=late),
                paid_amount=Decimal("0" if late is None else ("400" if part else "1000")),
            )
        )
    for aid, cid, decided, rating in (
        ("CA1", "C1", "2026-08-10", "good"),
        ("CA2", "C2", "2026-09-01", "poor"),
        ("CA3", "C2", "2026-07-10", "adequate"),
        ("CA4", "C3", "2026-10-10", "good"),
    ):
        session.add(
            CreditApplication(
                id=aid,
                customer_id=cid,
                product="SME-OPERATING",
                amount=Decimal("100000"),
                requested_by="los",
                status="approved",
                decision="approved",
                decided_by="ca_zhao",
                quality_rating=rating,
                decided_at=at(decided),
            )
        )
    session.flush()
