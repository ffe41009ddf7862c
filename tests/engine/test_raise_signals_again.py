"""The step that turns an inspection's findings into signals, handed out again under a new
external task id (as an engine restarted after a crash that lost its last moments does), counts
no second occurrence: the finding remembers the signal it stands for."""

from __future__ import annotations

import pytest
from helpers import new_loan, start_inspection, task_of, wait_for
from sqlalchemy import func, select

from postloan.db import unit_of_work
from postloan.inspections.models import InspectionFinding
from postloan.processed_task import ProcessedTask
from postloan.signals.models import RiskSignal

pytestmark = pytest.mark.engine


def _signals(database: str, loan_id: str) -> dict[int, int]:
    with unit_of_work(database) as session:
        rows = session.execute(
            select(RiskSignal.id, RiskSignal.occurrences).where(RiskSignal.loan_id == loan_id)
        )
        return {signal_id: occurrences for signal_id, occurrences in rows}


def _runs(database: str, inspection_id: str) -> int:
    with unit_of_work(database) as session:
        return session.scalar(
            select(func.count()).where(
                ProcessedTask.topic == "inspection.raise-signals",
                ProcessedTask.business_key == inspection_id,
            )
        )


def test_raise_signals_run_again_counts_no_second_occurrence(
    workers, api, as_user, admin, database
):
    loan_id = new_loan(api, account_manager="am_li", days_overdue=45)
    inspection_id = start_inspection(api, loan_id)
    task_of(as_user("am_li"), inspection_id, "perform_inspection")
    before = _signals(database, loan_id)
    assert before, "the overdue instalment raised a loan-level signal"
    with unit_of_work(database) as session:
        linked = session.scalars(
            select(InspectionFinding.signal_id).where(
                InspectionFinding.inspection_id == inspection_id,
                InspectionFinding.signal_id.is_not(None),
            )
        ).all()
    assert set(linked) & set(before), "the inspection's findings name the signals they raised"
    assert _runs(database, inspection_id) == 1

    # The step again, under a new external task id: what an engine that lost its last
    # committed moments does after a restart.
    [instance] = admin.call(
        "GET", "/process-instance", params={"businessKey": inspection_id, "active": "true"}
    )
    admin.call(
        "POST",
        f"/process-instance/{instance['id']}/modification",
        json={
            "skipCustomListeners": True,
            "skipIoMappings": True,
            "instructions": [{"type": "startBeforeActivity", "activityId": "raise_signals"}],
        },
    )
    wait_for(lambda: _runs(database, inspection_id) == 2, what="raise-signals handled again")
    assert _signals(database, loan_id) == before
    admin.call(
        "DELETE", f"/process-instance/{instance['id']}", params={"skipCustomListeners": "true"}
    )
