"""Reminders that prevent lapses, and technical overdues counted per loan, account manager
and branch."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import Reader, SessionDep
from api.schemas import ID_PATTERN, Limit500, Offset, Page, QueryDate, QueryId, Strict
from postloan.errors import InvalidInput
from postloan.loans import technical_overdue
from postloan.reminders import service, upcoming
from postloan.reminders.lapses import KINDS
from postloan.reminders.models import Reminder

router = APIRouter(tags=["reminders"])

Kind = Literal[
    "instalment_due",
    "rating_expiry",
    "credit_line_expiry",
    "valuation_due",
    "insurance_expiry",
    "annual_review",
]
State = Literal["open", "done"]
Level = Literal["loan", "account_manager", "branch"]
QueryUser = Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)]

assert set(Kind.__args__) == {service.INSTALMENT_DUE, *KINDS}  # type: ignore[attr-defined]


class ReminderOut(Strict):
    id: int
    kind: str
    customer_id: str | None
    loan_id: str | None
    collateral_id: str | None
    #: the day it falls due or lapses
    due_on: date
    #: how many days before ``due_on`` the reminder (or task) was made
    lead_days: int
    #: account_manager, or the group the lapse task goes to
    addressee_role: str
    addressee_user: str | None
    state: str
    created_at: datetime
    #: for a lapse task answered: what was done, the note, the object's new date, by whom
    action_taken: str | None
    action_note: str | None
    new_due_on: date | None
    done_by: str | None
    done_at: datetime | None


class ReminderList(Page):
    items: list[ReminderOut]


def reminder_out(r: Reminder) -> ReminderOut:
    return ReminderOut(
        id=r.id,
        kind=r.kind,
        customer_id=r.customer_id,
        loan_id=r.loan_id,
        collateral_id=r.collateral_id,
        due_on=r.due_on,
        lead_days=r.lead_days,
        addressee_role=r.addressee_role,
        addressee_user=r.addressee_user,
        state=r.state,
        created_at=r.created_at,
        action_taken=r.action_taken,
        action_note=r.action_note,
        new_due_on=r.new_due_on,
        done_by=r.done_by,
        done_at=r.done_at,
    )


@router.get(
    "/reminders",
    response_model=ReminderList,
    summary="Upcoming instalments and rating / line / valuation / insurance / review lapses",
)
def list_reminders(
    session: SessionDep,
    caller: Reader,
    kind: Kind | None = None,
    state: State | None = None,
    customer_id: QueryId = None,
    loan_id: QueryId = None,
    account_manager: QueryUser = None,
    branch: QueryId = None,
    due_from: QueryDate = None,
    due_to: QueryDate = None,
    limit: Limit500 = 50,
    offset: Offset = 0,
) -> ReminderList:
    """What the daily scan reminded (instalments) or opened a ``prevent_lapse`` task for,
    soonest due first; filters combine."""
    rows, total = service.search(
        session,
        service.ReminderFilter(
            kind=kind,
            state=state,
            customer_id=customer_id,
            loan_id=loan_id,
            account_manager=account_manager,
            branch=branch,
            due_from=due_from,
            due_to=due_to,
        ),
        limit=limit,
        offset=offset,
    )
    return ReminderList(
        total=total, limit=limit, offset=offset, items=[reminder_out(r) for r in rows]
    )


class UpcomingOut(Strict):
    kind: str
    #: repayment, customer, loan or collateral, and its id
    object_type: str
    object_id: str
    customer_id: str
    loan_id: str | None
    account_manager: str
    branch: str
    #: the day it falls due or lapses
    due_on: date
    #: the reminder the scan made for it, once its lead time came (null: not yet)
    reminder_id: int | None


class UpcomingList(Page):
    as_of: date
    within_days: int
    items: list[UpcomingOut]


@router.get(
    "/reminders/upcoming",
    response_model=UpcomingList,
    summary="What falls due or lapses in the next days, reminded yet or not",
)
def list_upcoming(
    session: SessionDep,
    caller: Reader,
    within_days: Annotated[int, Query(ge=1, le=366)] = 30,
    kind: Kind | None = None,
    customer_id: QueryId = None,
    loan_id: QueryId = None,
    account_manager: QueryUser = None,
    branch: QueryId = None,
    limit: Limit500 = 50,
    offset: Offset = 0,
) -> UpcomingList:
    """Unpaid instalments and rating / credit line / valuation / insurance / annual review
    dates from today to ``within_days`` ahead, soonest first, whatever their lead time."""
    today = date.today()
    items = upcoming.upcoming(
        session,
        today,
        within_days,
        upcoming.UpcomingFilter(
            kind=kind,
            customer_id=customer_id,
            loan_id=loan_id,
            account_manager=account_manager,
            branch=branch,
        ),
    )
    return UpcomingList(
        total=len(items),
        limit=limit,
        offset=offset,
        as_of=today,
        within_days=within_days,
        items=[UpcomingOut(**vars(i)) for i in items[offset : offset + limit]],
    )


class TechnicalOverdueRow(Strict):
    #: the loan id, account manager (engine user id) or branch code
    key: str
    count: int
    max_days_late: int


class TechnicalOverdueReport(Strict):
    level: str
    due_from: date
    due_to: date
    #: an instalment paid in full 1 to this many days late counts (config/reminders.yaml)
    counted_up_to_days_late: int
    items: list[TechnicalOverdueRow]


@router.get(
    "/technical-overdues",
    response_model=TechnicalOverdueReport,
    summary="Instalments paid 1 to N days late, per loan, account manager or branch",
)
def technical_overdues(
    session: SessionDep,
    caller: Reader,
    level: Level = "branch",
    due_from: QueryDate = None,
    due_to: QueryDate = None,
) -> TechnicalOverdueReport:
    """By due date, both ends included; by default the configured window up to today. Only
    keys with at least one technical overdue are listed, most first."""
    rule = technical_overdue.rule()
    end = due_to or date.today()
    start = due_from or end - timedelta(days=rule.window_days)
    if start > end:
        raise InvalidInput("due_from is after due_to", field="due_from")
    period = technical_overdue.Period(start, end)
    count = {
        "loan": technical_overdue.by_loan,
        "account_manager": technical_overdue.by_account_manager,
        "branch": technical_overdue.by_branch,
    }[level]
    tallies = count(session, period)
    rows = sorted(tallies.items(), key=lambda kv: (-kv[1].count, kv[0]))
    return TechnicalOverdueReport(
        level=level,
        due_from=start,
        due_to=end,
        counted_up_to_days_late=rule.max_days_late,
        items=[
            TechnicalOverdueRow(key=k, count=t.count, max_days_late=t.max_days_late)
            for k, t in rows
        ],
    )
