"""Due-diligence reviews over a real (migrated) database, no engine: what starts one, the
evidence, the proposal, deliberation and determination by two people, fraud, the appeal window.

Each test works in one session rolled back at its end (nothing it owes is left for a relay of a
later engine test), except the portfolio scan's, which commits: it gets a database of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import add_performing_loan, customer_row, rolled_back_session
from sqlalchemy import create_engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlite_template import copy_of

from postloan.classification import service as classification
from postloan.classification.rules import bundled_table
from postloan.classification.scan import scan
from postloan.db import get_session_factory
from postloan.decisions import load_tables
from postloan.due_diligence import service as reviews
from postloan.due_diligence.models import DueDiligenceReview, ReviewStatus
from postloan.errors import Conflict, InvalidInput, NotFound
from postloan.inspections.models import Inspection
from postloan.loans.models import Loan, Repayment
from postloan.outbox.models import OutboxMessage

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
RULES = load_tables((BPMN / "exemption_rules.dmn").read_bytes())["exemption_rules"]
TODAY = date.today()
DISBURSED = TODAY - timedelta(days=200)


@pytest.fixture
def session(database: str) -> Iterator[Session]:
    yield from rolled_back_session(database)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=UTC)


def seed_loan(session: Session, *, amount: str = "800000", segment: str = "micro") -> str:
    """A micro-enterprise loan of am_qian disbursed 200 days ago (first inspection due within
    15 days, config/products.yaml), performing."""
    suffix = uuid.uuid4().hex[:8]
    customer_id, loan_id = f"C-D{suffix}", f"L-D{suffix}"
    customer = customer_row(
        customer_id,
        name=f"Diligence Co {suffix}",
        segment=segment,
        branch="BR-HZ-05",
        account_manager="am_qian",
        credit_rating="BBB",
    )
    add_performing_loan(
        session,
        customer,
        loan_id=loan_id,
        product="MICRO-OPERATING",
        amount=Decimal(amount),
        disbursed_on=DISBURSED,
    )
    return loan_id


def inspection(
    session: Session,
    loan_id: str,
    kind: str,
    due: date,
    done: date | None,
    *,
    status: str | None = None,
) -> str:
    inspection_id = f"I-D{uuid.uuid4().hex[:10]}"
    completed = done is not None
    session.add(
        Inspection(
            id=inspection_id,
            loan_id=loan_id,
            kind=kind,
            reason="plan",
            requested_by="plan",
            status=status or ("completed" if completed else "requested"),
            due_on=due,
            completed_at=_at(done) if done else None,
            inspector="am_qian" if completed else None,
            reviewer="po_chen" if completed else None,
            conclusion="satisfactory" if completed else None,
            report={"review": {"reviewer": "po_chen", "decision": "approve"}}
            if completed
            else None,
        )
    )
    session.flush()
    return inspection_id


def diligent_history(session: Session, loan_id: str) -> tuple[str, str]:
    """Every prescribed inspection done on time: the first (day 10 of 15) and a routine one."""
    first = inspection(
        session, loan_id, "first", DISBURSED + timedelta(15), DISBURSED + timedelta(10)
    )
    routine = inspection(
        session, loan_id, "routine", DISBURSED + timedelta(105), DISBURSED + timedelta(100)
    )
    return first, routine


def turn_substandard(session: Session, loan_id: str) -> DueDiligenceReview:
    classification.propose(
        session,
        loan_id,
        {"risk_class": "substandard", "reason": "over 90 days past due"},
        "repayment",
        "tests",
    )
    review = reviews.open_review(session, loan_id)
    assert review is not None
    return review


def propose(session: Session, review: DueDiligenceReview, stage: str = "evidence") -> dict:
    """What the engine's business rule task does: evaluate exemption_rules on the inputs."""
    inputs = reviews.inputs_of(review)
    reviews.record_proposal(session, review.id, RULES.evaluate(inputs), stage=stage)
    assert review.proposal is not None
    return review.proposal


def deliberate(session: Session, review: DueDiligenceReview, **flags: bool) -> None:
    reviews.record_deliberation(
        session,
        review.id,
        outcome="exempt",
        note="The file is complete.",
        fraud=flags.get("fraud", False),
        collusion=flags.get("collusion", False),
        serious_breach=flags.get("serious_breach", False),
        actor="cm_liu",
    )


class TestStart:
    def test_a_loan_turning_substandard_opens_a_review_and_owes_its_process(self, session):
        loan_id = seed_loan(session)
        review = turn_substandard(session, loan_id)
        assert (review.trigger, review.from_class, review.to_class) == (
            "classification",
            "normal",
            "substandard",
        )
        assert review.account_manager == "am_qian"
        assert review.status == ReviewStatus.INVESTIGATING
        owed = session.scalars(
            select(OutboxMessage).where(OutboxMessage.business_key == str(review.id))
        ).all()
        assert [m.payload["process_key"] for m in owed] == ["due_diligence_review"]
        assert owed[0].payload["variables"]["account_manager"] == "am_qian"
        assert owed[0].payload["variables"]["review_id"] == review.id

    def test_moving_within_the_npl_classes_opens_no_second_review(self, session):
        loan_id = seed_loan(session)
        first = turn_substandard(session, loan_id)
        classification.propose(
            session, loan_id, {"risk_class": "doubtful", "reason": "270 days"}, "scan", "tests"
        )
        rows = session.scalars(
            select(DueDiligenceReview).where(DueDiligenceReview.loan_id == loan_id)
        ).all()
        assert [r.id for r in rows] == [first.id]

    def test_a_downgrade_to_special_mention_opens_none(self, session):
        loan_id = seed_loan(session)
        classification.propose(
            session, loan_id, {"risk_class": "special_mention", "reason": "1 day"}, "scan", "t"
        )
        assert reviews.open_review(session, loan_id) is None

    def test_a_confirmed_downgrade_from_an_inspection_opens_a_review(self, session):
        loan_id = seed_loan(session)
        change = classification.propose(
            session, loan_id, {"risk_class": "loss", "reason": "fraud"}, "inspection", "t"
        )
        assert change is not None and change.status == "proposed"
        assert reviews.open_review(session, loan_id) is None
        classification.confirm(session, change.id, "cm_liu", "confirmed")
        review = reviews.open_review(session, loan_id)
        assert review is not None and review.to_class == "loss"

    def test_on_request_a_second_open_review_is_a_conflict(self, session):
        loan_id = seed_loan(session)
        reviews.start(session, loan_id, trigger="request", reason="audit", actor="t")
        with pytest.raises(Conflict):
            reviews.start(session, loan_id, trigger="request", reason="again", actor="t")
        with pytest.raises(NotFound):
            reviews.start(session, "L-NOPE", trigger="request", reason="x", actor="t")
        with pytest.raises(InvalidInput) as err:
            reviews.start(session, seed_loan(session), trigger="request", reason=" ", actor="t")
        assert err.value.field == "reason"

    def test_the_database_refuses_a_second_open_review(self, session):
        loan_id = seed_loan(session)
        first = reviews.start(session, loan_id, trigger="request", reason="audit", actor="t")
        twin = DueDiligenceReview(
            id=reviews.new_id(),
            **{
                c.key: getattr(first, c.key)
                for c in DueDiligenceReview.__table__.columns
                if c.key not in ("id", "created_at", "modified_at")
            },
        )
        session.add(twin)
        with pytest.raises(IntegrityError):
            session.flush()


class TestEvidenceAndProposal:
    def test_the_evidence_lists_the_loans_inspections_with_dates(self, session):
        loan_id = seed_loan(session)
        first, routine = diligent_history(session, loan_id)
        review = turn_substandard(session, loan_id)
        reviews.assemble_evidence(session, review.id)
        evidence = review.evidence
        assert evidence is not None
        listed = {i["id"]: i for i in evidence["inspections"]}
        assert listed[first]["due_on"] == (DISBURSED + timedelta(15)).isoformat()
        assert listed[first]["done_on"] == (DISBURSED + timedelta(10)).isoformat()
        assert listed[first]["inspector"] == "am_qian"
        assert listed[first]["reviewer"] == "po_chen"
        assert listed[first]["timeliness"] == "on_time"
        assert listed[routine]["timeliness"] == "on_time"
        assert evidence["first_inspection"] == {
            "inspection_id": first,
            "deadline": (DISBURSED + timedelta(15)).isoformat(),
            "timeliness": "on_time",
            "skipped": False,
        }
        assert evidence["summary"] == {"prescribed": 2, "on_time": 2, "late": 0, "missing": 0}

    def test_an_account_manager_who_did_everything_on_time_is_proposed_exempt(self, session):
        loan_id = seed_loan(session)
        diligent_history(session, loan_id)
        review = turn_substandard(session, loan_id)
        reviews.assemble_evidence(session, review.id)
        proposal = propose(session, review)
        assert proposal["outcome"] == "exempt"
        assert proposal["reasons"] == [
            "Every prescribed action done on time: duties fully performed, must be exempted"
        ]
        assert review.status == ReviewStatus.DELIBERATING

    def test_one_who_skipped_the_first_inspection_is_not(self, session):
        loan_id = seed_loan(session)
        # the first inspection was never done (due on day 15, still open); the routine one was
        inspection(session, loan_id, "first", DISBURSED + timedelta(15), None)
        inspection(
            session, loan_id, "routine", DISBURSED + timedelta(105), DISBURSED + timedelta(100)
        )
        review = turn_substandard(session, loan_id)
        reviews.assemble_evidence(session, review.id)
        assert review.evidence is not None
        assert review.evidence["first_inspection"]["skipped"] is True
        proposal = propose(session, review)
        assert proposal["outcome"] == "full_accountability"
        assert any("First inspection" in r for r in proposal["reasons"])

    def test_no_first_inspection_on_record_after_its_deadline_counts_as_skipped(self, session):
        loan_id = seed_loan(session)
        review = turn_substandard(session, loan_id)
        reviews.assemble_evidence(session, review.id)
        assert propose(session, review)["outcome"] == "full_accountability"

    def test_a_late_inspection_is_a_lapse(self, session):
        loan_id = seed_loan(session)
        inspection(session, loan_id, "first", DISBURSED + timedelta(15), DISBURSED + timedelta(12))
        late = inspection(
            session, loan_id, "routine", DISBURSED + timedelta(105), DISBURSED + timedelta(120)
        )
        review = turn_substandard(session, loan_id)
        _, inputs = reviews.assemble_evidence(session, review.id)
        assert review.evidence is not None
        row = next(i for i in review.evidence["inspections"] if i["id"] == late)
        assert (row["timeliness"], row["days_late"]) == ("late", 15)
        assert (inputs["all_actions_on_time"], inputs["lapses"]) == (False, 1)
        assert propose(session, review)["outcome"] in ("reduced", "full_accountability")

    def test_a_loan_above_the_scope_limit_is_not_exempt(self, session):
        loan_id = seed_loan(session, amount="12000000")
        diligent_history(session, loan_id)
        review = turn_substandard(session, loan_id)
        reviews.assemble_evidence(session, review.id)
        proposal = propose(session, review)
        assert proposal["outcome"] == "full_accountability"
        assert any("Outside the scope" in r for r in proposal["reasons"])


def _determinable(session: Session, **flags: bool) -> DueDiligenceReview:
    loan_id = seed_loan(session)
    diligent_history(session, loan_id)
    review = turn_substandard(session, loan_id)
    reviews.assemble_evidence(session, review.id)
    propose(session, review)
    deliberate(session, review, **flags)
    propose(session, review, stage="deliberation")
    return review


class TestDeliberationAndDetermination:
    def test_a_case_of_fraud_is_never_exempt(self, session):
        review = _determinable(session, fraud=True)
        assert review.proposal is not None
        assert review.proposal["outcome"] == "full_accountability"
        assert "Fraud: may not be exempted" in review.proposal["reasons"]
        with pytest.raises(InvalidInput) as err:
            reviews.record_determination(
                session, review.id, outcome="exempt", note="diligent", actor="cm_gao"
            )
        assert err.value.field == "determined_outcome"
        reviews.record_determination(
            session, review.id, outcome="full_accountability", note="fraud", actor="cm_gao"
        )
        assert review.determined_outcome == "full_accountability"

    def test_the_same_credit_manager_cannot_deliberate_and_determine(self, session):
        review = _determinable(session)
        with pytest.raises(Conflict):
            reviews.record_determination(
                session, review.id, outcome="exempt", note="mine", actor="cm_liu"
            )
        review.determined_by = "cm_liu"  # any path around the service: the table refuses it
        with pytest.raises(IntegrityError):
            session.flush()

    def test_the_account_manager_cannot_deliberate_or_determine(self, session):
        loan_id = seed_loan(session)
        review = turn_substandard(session, loan_id)
        reviews.assemble_evidence(session, review.id)
        propose(session, review)
        with pytest.raises(Conflict):
            reviews.record_deliberation(
                session,
                review.id,
                outcome="exempt",
                note="I did it all",
                fraud=False,
                collusion=False,
                serious_breach=False,
                actor="am_qian",
            )

    def test_determination_opens_the_appeal_window_and_tells_compensation(self, session):
        review = _determinable(session)
        reviews.record_determination(
            session, review.id, outcome="exempt", note="duties performed", actor="cm_gao"
        )
        assert review.status == ReviewStatus.APPEAL_WINDOW
        assert review.appeal_deadline is not None
        window = reviews._aware(review.appeal_deadline) - reviews._aware(review.determined_at)
        assert window == timedelta(days=15)  # config/due_diligence.yaml appeal_window P15D


class TestAppeal:
    def test_an_appeal_after_the_window_is_refused(self, session):
        review = _determinable(session)
        long_ago = datetime.now(UTC) - timedelta(days=16)
        reviews.record_determination(
            session, review.id, outcome="reduced", note="late", actor="cm_gao", now=long_ago
        )
        with pytest.raises(reviews.AppealWindowClosed) as err:
            reviews.record_appeal(
                session, review.id, grounds="unfair", appellant="am_qian", actor="am_qian"
            )
        assert (err.value.status, err.value.code) == (409, "appeal_window_closed")
        reviews.close_window(session, review.id, actor="worker")
        assert (review.status, review.final_outcome) == (ReviewStatus.FINAL, "reduced")
        with pytest.raises(reviews.AppealWindowClosed):
            reviews.record_appeal(
                session, review.id, grounds="unfair", appellant="am_qian", actor="am_qian"
            )

    def test_only_the_account_manager_appeals_and_a_third_person_reviews(self, session):
        review = _determinable(session)
        reviews.record_determination(
            session, review.id, outcome="full_accountability", note="x", actor="cm_gao"
        )
        with pytest.raises(InvalidInput) as err:
            reviews.record_appeal(
                session, review.id, grounds="not mine", appellant="am_li", actor="am_li"
            )
        assert err.value.field == "appealed_by"
        reviews.record_appeal(
            session, review.id, grounds="all was done", appellant="am_qian", actor="am_qian"
        )
        assert review.status == ReviewStatus.APPEAL_REVIEW
        for took_part in ("am_qian", "cm_liu", "cm_gao"):
            with pytest.raises(Conflict):
                reviews.record_appeal_review(
                    session, review.id, decision="upheld", outcome=None, note="x", actor=took_part
                )
        reviews.record_appeal_review(
            session,
            review.id,
            decision="changed",
            outcome="exempt",
            note="evidence complete",
            actor="cm_he",
        )
        assert (review.final_outcome, review.appeal_reviewed_by) == ("exempt", "cm_he")

    def test_a_changed_outcome_is_never_exempt_for_fraud(self, session):
        review = _determinable(session, fraud=True)
        reviews.record_determination(
            session, review.id, outcome="full_accountability", note="x", actor="cm_gao"
        )
        reviews.record_appeal(session, review.id, grounds="g", appellant="am_qian", actor="x")
        with pytest.raises(InvalidInput):
            reviews.record_appeal_review(
                session, review.id, decision="changed", outcome="exempt", note="n", actor="cm_he"
            )


@pytest.mark.parametrize("open_reviews", [True, False])
def test_the_portfolio_scan_opens_a_review_for_a_loan_it_moves_to_npl(
    sqlite_template, tmp_path, open_reviews
):
    """Unless told not to (the first classification of a book just imported)."""
    url = copy_of(sqlite_template, tmp_path / "scan.db")
    factory = get_session_factory(url)
    with factory() as session:
        loan_id = seed_loan(session)
        session.add(
            Repayment(
                loan_id=loan_id,
                due_on=TODAY - timedelta(days=120),
                due_amount=Decimal("25000"),
                paid_amount=Decimal("0"),
            )
        )
        session.commit()
    engine = create_engine(url)
    try:
        result = scan(
            engine,
            bundled_table(),
            TODAY,
            progress=False,
            raise_signals=False,
            open_reviews=open_reviews,
        )
    finally:
        engine.dispose()
    assert result.changes == 1
    with factory() as session:
        assert session.get(Loan, loan_id).risk_class == "substandard"
        review = reviews.open_review(session, loan_id)
        if not open_reviews:
            assert review is None and result.due_diligence_reviews == 0
            return
        assert result.due_diligence_reviews == 1
        assert review is not None and review.to_class == "substandard"
        owed = session.scalars(
            select(OutboxMessage).where(OutboxMessage.business_key == str(review.id))
        ).all()
        assert len(owed) == 1
