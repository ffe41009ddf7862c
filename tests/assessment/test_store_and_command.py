"""A closed period computed by ``postloanctl assess`` is stored and read back; recomputing
replaces it atomically; an open period is refused; the computation is audited."""

from __future__ import annotations

import argparse
import hashlib
from datetime import date

import pytest
from sqlalchemy import func, select

from config.settings import Settings
from postloan.assessment import service
from postloan.assessment.models import AssessmentResult, AssessmentRun
from postloan.assessment.scorecard import DEFAULT_PATH
from postloan.audit import AuditEvent
from postloan.db import unit_of_work
from postloan.errors import InvalidInput
from postloan.inspections.models import Inspection
from postloanctl import assess_cmd
from tests.assessment.portfolio import PERIOD, TODAY, at, d


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    assess_cmd.add_commands(sub)
    return parser.parse_args(["assess", *argv])


def _branch_on_time(session, period: str = PERIOD) -> tuple[int | None, int | None]:
    cards = service.scorecards(session, period=period, level="branch", today=TODAY)
    sh = next(c for c in cards if c.subject_id == "BR-SH-01")
    i = next(i for i in sh.indicators if i.key == "inspections_on_time")
    return i.numerator, i.denominator


def _add_late_inspection(session) -> None:
    session.add(
        Inspection(
            id="I8",
            loan_id="L2",
            kind="first",
            reason="plan",
            status="completed",
            requested_by="scheduler",
            inspector="am_zhang",
            reviewer="po_wang",
            completed_at=at("2026-09-29"),
            report={},
            due_on=d("2026-09-01"),
        )
    )


def test_the_command_stores_a_closed_period_and_reads_it_back(db, capsys):
    code = assess_cmd.run(
        _args("--period", PERIOD, "--as-of", TODAY.isoformat()), Settings(database_url=db)
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2026-Q3 branch: 2 subjects; best BR-SH-01 65.7 (adequate)" in out
    assert "2026-Q3 vendor: 2 subjects; best VB 95.0 (excellent)" in out
    with unit_of_work(db) as session:
        runs = session.scalars(select(AssessmentRun).order_by(AssessmentRun.level)).all()
        assert [r.level for r in runs] == sorted(
            ["account_manager", "postloan_officer", "vendor", "branch"]
        )
        assert all(r.period == PERIOD and r.computed_by == "postloanctl" for r in runs)
        shipped = hashlib.sha256(DEFAULT_PATH.read_bytes()).hexdigest()
        assert {r.scorecard_digest for r in runs} == {shipped}
        stored = service.scorecards(session, period=PERIOD, level="vendor")
        fresh = service.compute(session, period=PERIOD, levels=["vendor"], today=TODAY)["vendor"]
        assert stored == fresh  # the stored copy is the computation, field for field
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "assessment.computed")
        ).all()
        assert {e.object_id for e in events} == {f"{PERIOD}/{lvl}" for lvl in service.LEVELS}


def test_a_stored_period_answers_from_the_store_until_recomputed(db):
    with unit_of_work(db) as session:
        service.store_period(session, period=PERIOD, actor="tests", today=TODAY)
    with unit_of_work(db) as session:
        _add_late_inspection(session)
    with unit_of_work(db) as session:
        assert _branch_on_time(session) == (2, 4)  # stored: the new inspection is not in it
        assert _branch_on_time(session, "2026-09") == (0, 2)  # computed on the fly: it is
    with unit_of_work(db) as session:
        service.store_period(session, period=PERIOD, levels=["branch"], actor="tests", today=TODAY)
    with unit_of_work(db) as session:
        assert _branch_on_time(session) == (2, 5)
        assert session.scalar(select(func.count()).select_from(AssessmentRun)) == 4
        run = service.stored_run(session, period=PERIOD, level="branch")
        assert run is not None
        results = session.scalar(select(func.count()).where(AssessmentResult.run_id == run.id))
        assert results == 2
        assert session.scalar(select(func.count()).select_from(AssessmentResult)) == 2 + 2 + 2 + 2


def test_a_failed_recomputation_leaves_the_stored_period_as_it_was(db, monkeypatch):
    with unit_of_work(db) as session:
        service.store_period(session, period=PERIOD, actor="tests", today=TODAY)
    with unit_of_work(db) as session:
        _add_late_inspection(session)
    real = service.audit.record

    def failing(session, **kwargs):
        # The last level's audit entry: every old run is deleted and new ones written by now.
        if kwargs["object_id"].endswith("/branch"):
            raise RuntimeError("disk full")
        return real(session, **kwargs)

    monkeypatch.setattr(service.audit, "record", failing)
    with pytest.raises(RuntimeError), unit_of_work(db) as session:
        service.store_period(session, period=PERIOD, actor="tests", today=TODAY)
    monkeypatch.undo()
    with unit_of_work(db) as session:
        assert _branch_on_time(session) == (2, 4)
        assert session.scalar(select(func.count()).select_from(AssessmentRun)) == 4


def test_an_open_period_is_refused(db, capsys):
    with unit_of_work(db) as session, pytest.raises(InvalidInput) as caught:
        service.store_period(session, period="2026-Q4", actor="tests", today=TODAY)
    assert caught.value.field == "period"
    code = assess_cmd.run(
        _args("--period", "2026-12", "--as-of", TODAY.isoformat()), Settings(database_url=db)
    )
    assert code == 2
    assert "2026-12 is not closed yet (it ends on 2026-12-31)" in capsys.readouterr().out
    with unit_of_work(db) as session:
        assert session.scalar(select(func.count()).select_from(AssessmentRun)) == 0


def test_the_command_refuses_a_bad_period_and_takes_one_level(db, capsys):
    settings = Settings(database_url=db)
    assert assess_cmd.run(_args("--period", "2026-Q9"), settings) == 2
    assert "period must be a month" in capsys.readouterr().out
    assert assess_cmd.run(_args("--period", "2026-Q2", "--level", "vendor"), settings) == 0
    with unit_of_work(db) as session:
        runs = session.scalars(select(AssessmentRun)).all()
        assert [(r.period, r.level) for r in runs] == [("2026-Q2", "vendor")]


def test_a_year_is_closed_after_its_last_day():
    from postloan.assessment import periods

    year = periods.parse("2026")
    assert (year.start, year.end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert not year.is_closed(date(2026, 12, 31)) and year.is_closed(date(2027, 1, 1))
