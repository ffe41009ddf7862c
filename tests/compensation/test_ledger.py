"""The deferred pay ledger over a real (migrated) SQLite database, no engine: importing pay
bases, holds by a determination, clawbacks and releases by the final outcome, the release run,
idempotence, append-only rows and the audit trail. Every amount is computed by hand.

The person am_li has a 100,000.00 performance pay for 2025 (period end 2025-12-31): 60,000.00
paid now, 40,000.00 deferred in tranches of 13,333.33 / 13,333.33 / 13,333.34 due on
2026-12-31, 2027-12-31 and 2028-12-31. Loan L-C1 was disbursed on 2025-03-01, L-C2 on
2026-05-01.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from postloan.application import compensation as compensation_cases
from postloan.application.ports import database_unit
from postloan.application.services import Services
from postloan.audit import AuditEvent
from postloan.compensation import service as compensation
from postloan.compensation.models import (
    CompensationEntry,
    CompensationReview,
    LedgerIsAppendOnly,
    PayBase,
)
from postloan.db import unit_of_work
from postloan.errors import Conflict, InvalidInput, NotFound

from .conftest import PERSON

D = Decimal
TODAY = date(2026, 12, 3)


def pay(person: str = PERSON, period: str = "2025", amount: str = "100000.00", currency="CNY"):
    return compensation.PayBaseItem(person, period, D(amount), currency)


def import_(url: str, *items: compensation.PayBaseItem) -> list[compensation.ImportResult]:
    services = Services(uow=database_unit(url), engine=None)
    return compensation_cases.import_pay_bases(services, list(items), actor="payroll", today=TODAY)


def release(url: str, as_of: date) -> list[tuple[str, int | None, Decimal]]:
    services = Services(uow=database_unit(url), engine=None)
    rows = compensation_cases.release_due(services, as_of=as_of, actor="postloanctl")
    return [(r.period, r.tranche, r.amount) for r in rows]


def determine(url: str, review: str, outcome: str, on: date, loan: str = "L-C1") -> None:
    with unit_of_work(url) as session:
        compensation.record_determination(
            session,
            review_id=review,
            loan_id=loan,
            person=PERSON,
            outcome=outcome,
            determined_on=on,
            actor="cm_liu",
        )


def final(url: str, review: str, outcome: str, on: date, **more: Any) -> None:
    with unit_of_work(url) as session:
        compensation.record_final(
            session, review_id=review, outcome=outcome, final_on=on, actor="cm_liu", **more
        )


def ledger(url: str, *kinds: str) -> list[tuple[str, str, int | None, Decimal, str | None]]:
    """(kind, period, tranche, amount, review) of every row (of ``kinds``), in order."""
    with unit_of_work(url) as session:
        query = select(CompensationEntry).order_by(CompensationEntry.id)
        if kinds:
            query = query.where(CompensationEntry.kind.in_(kinds))
        return [
            (e.kind, e.period, e.tranche, e.amount, e.review_id) for e in session.scalars(query)
        ]


def balances(url: str, period: str | None = None) -> dict[str, Decimal]:
    with unit_of_work(url) as session:
        found = compensation.person_totals(
            session, compensation.LedgerFilter(period=period), {PERSON}
        )
    assert len(found) == 1
    t = found[0]
    return {
        "paid_now": t.paid_now,
        "deferred": t.deferred,
        "outstanding": t.deferred_outstanding,
        "held": t.held,
        "released": t.released,
        "clawed_back": t.clawed_back,
    }


def count(url: str, model: type = CompensationEntry) -> int:
    with unit_of_work(url) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


class TestImport:
    def test_a_pay_base_writes_the_part_paid_now_and_three_tranches(self, db):
        [result] = import_(db, pay())
        assert result.status == "created"
        assert ledger(db) == [
            ("paid_now", "2025", None, D("60000.00"), None),
            ("deferred", "2025", 1, D("13333.33"), None),
            ("deferred", "2025", 2, D("13333.33"), None),
            ("deferred", "2025", 3, D("13333.34"), None),
        ]
        with unit_of_work(db) as session:
            due = session.scalars(
                select(CompensationEntry.due_on)
                .where(CompensationEntry.kind == "deferred")
                .order_by(CompensationEntry.tranche)
            ).all()
            base = session.scalars(select(PayBase)).one()
        assert due == [date(2026, 12, 31), date(2027, 12, 31), date(2028, 12, 31)]
        assert (base.period_start, base.period_end) == (date(2025, 1, 1), date(2025, 12, 31))
        assert (base.deferred_share, base.deferral_years, base.imported_by) == (
            D("0.4"),
            3,
            "payroll",
        )
        assert balances(db) == {
            "paid_now": D("60000.00"),
            "deferred": D("40000.00"),
            "outstanding": D("40000.00"),
            "held": D("0.00"),
            "released": D("0.00"),
            "clawed_back": D("0.00"),
        }

    def test_the_same_figure_again_is_a_no_op(self, db):
        import_(db, pay())
        [again] = import_(db, pay())
        assert again.status == "unchanged"
        assert [t.amount for t in again.split.tranches] == [
            D("13333.33"),
            D("13333.33"),
            D("13333.34"),
        ]
        assert again.split.paid_now == D("60000.00")
        assert count(db) == 4 and count(db, PayBase) == 1

    def test_another_figure_for_a_stored_period_is_a_conflict_and_the_batch_writes_nothing(
        self, db
    ):
        import_(db, pay())
        with pytest.raises(Conflict) as refused:
            import_(db, pay(period="2026", amount="50000.00"), pay(amount="100000.01"))
        assert refused.value.field == "items.1.performance_pay"
        assert "100000.00" in refused.value.detail
        # nothing of the batch: not even 2026, which came first and was valid
        assert count(db, PayBase) == 1 and count(db) == 4

    def test_the_batch_is_checked_whole_and_each_problem_named(self, db):
        with pytest.raises(InvalidInput) as refused:
            import_(
                db,
                pay(),
                pay(period="2025-Q3"),
                pay(period="2026", currency="USD"),
                pay(period="2024", amount="0"),
                pay(),
                pay(period="2027"),
            )
        assert refused.value.field == "items.1.period"
        for named in (
            "items.1.period",
            "items.2.currency",
            "items.3.performance_pay",
            "items.4.period",  # the same person and period as items.0
            "items.5.period",  # not begun yet
        ):
            assert named in refused.value.detail
        assert count(db, PayBase) == 0

    def test_it_is_audited(self, db):
        import_(db, pay())
        with unit_of_work(db) as session:
            event = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "compensation.pay_base_imported")
            ).one()
        assert (event.actor, event.object_type, event.object_id) == (
            "payroll",
            "pay_base",
            "am_li:2025",
        )
        assert event.detail["paid_now"] == "60000.00"
        assert [t["amount"] for t in event.detail["tranches"]] == [
            "13333.33",
            "13333.33",
            "13333.34",
        ]


class TestRelease:
    def test_tranches_are_released_when_due_once(self, db):
        import_(db, pay())
        assert release(db, date(2026, 12, 30)) == []
        assert release(db, date(2026, 12, 31)) == [("2025", 1, D("13333.33"))]
        assert release(db, date(2026, 12, 31)) == []  # a rerun releases nothing twice
        assert release(db, date(2030, 1, 1)) == [
            ("2025", 2, D("13333.33")),
            ("2025", 3, D("13333.34")),
        ]
        assert release(db, date(2030, 1, 1)) == []
        b = balances(db)
        assert (b["released"], b["outstanding"]) == (D("40000.00"), D("0.00"))


class TestFullAccountability:
    def test_a_clawback_takes_the_unreleased_tranches_and_leaves_the_released_one(self, db):
        import_(db, pay())
        assert release(db, date(2026, 12, 31)) == [("2025", 1, D("13333.33"))]
        determine(db, "R-1", "full_accountability", date(2027, 3, 1))
        assert ledger(db, "hold") == [
            ("hold", "2025", 2, D("13333.33"), "R-1"),
            ("hold", "2025", 3, D("13333.34"), "R-1"),
        ]
        assert balances(db)["held"] == D("26666.67")
        # held: not released while the review is open, even when due
        assert release(db, date(2027, 12, 31)) == []
        final(db, "R-1", "full_accountability", date(2027, 4, 1))
        assert ledger(db, "clawback", "hold_lifted") == [
            ("clawback", "2025", 2, D("13333.33"), "R-1"),
            ("hold_lifted", "2025", 2, D("13333.33"), "R-1"),
            ("clawback", "2025", 3, D("13333.34"), "R-1"),
            ("hold_lifted", "2025", 3, D("13333.34"), "R-1"),
        ]
        assert balances(db) == {
            "paid_now": D("60000.00"),
            "deferred": D("40000.00"),
            "outstanding": D("0.00"),
            "held": D("0.00"),
            "released": D("13333.33"),
            "clawed_back": D("26666.67"),
        }
        assert release(db, date(2030, 1, 1)) == []
        with unit_of_work(db) as session:
            reasons = session.scalars(
                select(CompensationEntry.reason).where(CompensationEntry.kind == "clawback")
            ).all()
            loans = session.scalars(
                select(CompensationEntry.loan_id).where(CompensationEntry.review_id == "R-1")
            ).all()
        assert all("R-1" in r and "full_accountability" in r and "100%" in r for r in reasons)
        assert set(loans) == {"L-C1"}

    def test_the_review_reaches_only_periods_since_the_loans_disbursement(self, db):
        import_(db, pay(), pay(period="2026", amount="30000.00"))
        # L-C2 was disbursed on 2026-05-01: the 2025 pay (period ended 2025-12-31) is not reached
        determine(db, "R-2", "full_accountability", date(2026, 11, 1), loan="L-C2")
        assert ledger(db, "hold") == [
            ("hold", "2026", 1, D("4000.00"), "R-2"),
            ("hold", "2026", 2, D("4000.00"), "R-2"),
            ("hold", "2026", 3, D("4000.00"), "R-2"),
        ]
        final(db, "R-2", "full_accountability", date(2026, 12, 1))
        assert balances(db, "2026")["clawed_back"] == D("12000.00")
        assert balances(db, "2025")["clawed_back"] == D("0.00")
        assert release(db, date(2026, 12, 31)) == [("2025", 1, D("13333.33"))]

    def test_pay_imported_while_a_review_is_open_is_held_at_once(self, db):
        determine(db, "R-3", "full_accountability", date(2027, 3, 1))
        assert ledger(db, "hold") == []  # nothing to hold yet
        import_(db, pay(period="2026", amount="30000.00"))
        assert [r[2] for r in ledger(db, "hold")] == [1, 2, 3]
        final(db, "R-3", "full_accountability", date(2027, 4, 1))
        assert balances(db)["clawed_back"] == D("12000.00")
        # once final, new pay is no longer held
        import_(db, pay(period="2025"))
        assert len(ledger(db, "hold")) == 3


class TestReducedAndExempt:
    def test_reduced_claws_back_half_of_each_held_tranche(self, db):
        import_(db, pay())
        determine(db, "R-4", "reduced", date(2026, 6, 1))
        assert balances(db)["held"] == D("40000.00")
        assert release(db, date(2026, 12, 31)) == []  # tranche 1 is held
        final(db, "R-4", "reduced", date(2027, 1, 15))
        # half of 13,333.33 = 6,666.665 -> 6,666.67 (half up); of 13,333.34 = 6,666.67
        assert ledger(db, "clawback") == [
            ("clawback", "2025", 1, D("6666.67"), "R-4"),
            ("clawback", "2025", 2, D("6666.67"), "R-4"),
            ("clawback", "2025", 3, D("6666.67"), "R-4"),
        ]
        # the overdue tranche 1 goes out at the next run, less its clawback
        assert release(db, date(2027, 1, 15)) == [("2025", 1, D("6666.66"))]
        assert balances(db) == {
            "paid_now": D("60000.00"),
            "deferred": D("40000.00"),
            "outstanding": D("13333.33"),
            "held": D("0.00"),
            "released": D("6666.66"),
            "clawed_back": D("20000.01"),
        }
        assert release(db, date(2030, 1, 1)) == [
            ("2025", 2, D("6666.66")),
            ("2025", 3, D("6666.67")),
        ]

    def test_exempt_on_appeal_lifts_the_hold_and_claws_back_nothing(self, db):
        import_(db, pay())
        determine(db, "R-5", "full_accountability", date(2026, 6, 1))
        assert release(db, date(2027, 1, 1)) == []
        final(db, "R-5", "exempt", date(2027, 2, 1))  # the appeal decided: exempt
        assert ledger(db, "clawback") == []
        assert [r[0] for r in ledger(db, "hold_lifted")] == ["hold_lifted"] * 3
        assert balances(db)["held"] == D("0.00")
        assert release(db, date(2027, 2, 1)) == [("2025", 1, D("13333.33"))]

    def test_two_open_reviews_hold_until_both_are_final(self, db):
        import_(db, pay())
        determine(db, "R-6", "reduced", date(2026, 6, 1))
        determine(db, "R-7", "reduced", date(2026, 7, 1), loan="L-C2")  # reaches 2026 only
        determine(db, "R-8", "exempt", date(2026, 7, 1))
        final(db, "R-8", "exempt", date(2026, 8, 1))
        assert release(db, date(2027, 1, 1)) == []  # R-6 still holds
        final(db, "R-6", "exempt", date(2026, 12, 1))
        assert release(db, date(2027, 1, 1)) == [("2025", 1, D("13333.33"))]


class TestIdempotence:
    def test_a_repeated_determination_or_final_writes_nothing(self, db):
        import_(db, pay())
        determine(db, "R-9", "full_accountability", date(2027, 3, 1))
        rows = count(db)
        determine(db, "R-9", "full_accountability", date(2027, 3, 1))
        determine(db, "R-9", "reduced", date(2027, 3, 2))  # by review id, whatever it says
        assert count(db) == rows
        final(db, "R-9", "full_accountability", date(2027, 4, 1))
        rows = count(db)
        final(db, "R-9", "full_accountability", date(2027, 4, 1))
        assert count(db) == rows
        assert count(db, CompensationReview) == 2
        with unit_of_work(db) as session:
            actions = session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_type == "due_diligence_review")
                .where(AuditEvent.object_id == "R-9")
                .order_by(AuditEvent.seq)
            ).all()
        assert actions == ["compensation.tranches_held", "compensation.review_final"]

    def test_a_final_with_another_outcome_is_a_conflict(self, db):
        import_(db, pay())
        determine(db, "R-10", "reduced", date(2027, 3, 1))
        final(db, "R-10", "reduced", date(2027, 4, 1))
        with pytest.raises(Conflict) as refused:
            final(db, "R-10", "exempt", date(2027, 4, 2))
        assert refused.value.field == "outcome"

    def test_a_final_without_determination_needs_the_loan_and_person(self, db):
        import_(db, pay())
        with pytest.raises(Conflict) as refused:
            final(db, "R-11", "full_accountability", date(2027, 4, 1))
        assert refused.value.field == "review_id"
        assert count(db, CompensationReview) == 0
        final(db, "R-11", "full_accountability", date(2027, 4, 1), loan_id="L-C1", person=PERSON)
        assert balances(db)["clawed_back"] == D("40000.00")

    def test_bad_arguments_name_the_field(self, db):
        with pytest.raises(InvalidInput) as bad:
            determine(db, "R-12", "lenient", date(2027, 3, 1))
        assert bad.value.field == "outcome"
        with pytest.raises(NotFound) as missing:
            determine(db, "R-12", "reduced", date(2027, 3, 1), loan="L-NOPE")
        assert missing.value.field == "loan_id"
        with pytest.raises(InvalidInput):
            final(db, "R-12", "lenient", date(2027, 3, 1))

    def test_the_callers_transaction_survives_a_repeated_call(self, db):
        """The due-diligence use case calls inside its own transaction: a duplicate is caught
        in a savepoint, so its other writes still commit."""
        import_(db, pay())
        determine(db, "R-13", "reduced", date(2027, 3, 1))
        with unit_of_work(db) as session:
            compensation.record_determination(
                session,
                review_id="R-13",
                loan_id="L-C1",
                person=PERSON,
                outcome="reduced",
                determined_on=date(2027, 3, 1),
                actor="cm_liu",
            )
            session.add(
                PayBase(
                    person="am_zhang",
                    period="2025",
                    period_start=date(2025, 1, 1),
                    period_end=date(2025, 12, 31),
                    performance_pay=D("1.00"),
                    currency="CNY",
                    deferred_share=D("0.4"),
                    deferral_years=3,
                    imported_by="t",
                )
            )
        assert count(db, PayBase) == 2


class TestAppendOnly:
    def test_the_application_refuses_to_change_or_delete_a_row(self, db):
        import_(db, pay())
        with pytest.raises(LedgerIsAppendOnly):
            with unit_of_work(db) as session:
                row = session.scalars(select(CompensationEntry)).first()
                assert row is not None
                row.amount = D("1.00")
        with pytest.raises(LedgerIsAppendOnly):
            with unit_of_work(db) as session:
                row = session.scalars(select(CompensationEntry)).first()
                session.delete(row)
        with pytest.raises(LedgerIsAppendOnly):
            with unit_of_work(db) as session:
                session.execute(update(CompensationEntry).values(amount=D("1.00")))

    @pytest.mark.parametrize(
        "sql", ["UPDATE compensation_entry SET amount = 1", "DELETE FROM compensation_entry"]
    )
    def test_the_database_refuses_it_too(self, db, sql):
        import_(db, pay())
        with pytest.raises(Exception, match="append-only"):
            with unit_of_work(db) as session:
                session.execute(text(sql))
        assert count(db) == 4
