"""The items of an inspection: what the inspector must verify, one by one.

Every inspection gets its template's standard points. A first inspection also gets one "use of
funds" item per drawdown (the loan's purpose: one drawdown per registered loan) and one item per
condition attached to the credit approval.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postloan.inspections.models import Inspection, InspectionItem, InspectionKind
from postloan.loans.models import ApprovalCondition, Loan
from postloan.plans.catalogue import Catalogue, catalogue
from postloan.plans.models import InspectionPlan


def create_items(
    session: Session,
    inspection: Inspection,
    plan: InspectionPlan | None,
    cat: Catalogue | None = None,
) -> list[InspectionItem]:
    """Write the inspection's items (once: an inspection that has items keeps them)."""
    cat = cat or catalogue()
    existing = (
        session.scalar(
            select(func.count())
            .select_from(InspectionItem)
            .where(InspectionItem.inspection_id == inspection.id)
        )
        or 0
    )
    if existing:
        return list(
            session.scalars(
                select(InspectionItem)
                .where(InspectionItem.inspection_id == inspection.id)
                .order_by(InspectionItem.seq)
            )
        )
    loan = session.get(Loan, inspection.loan_id)
    template_id = (
        plan.template if plan is not None else cat.product(loan.product if loan else "").template
    )
    template = cat.template(template_id)
    items = [
        InspectionItem(
            code=f"tpl.{p.code}", label=p.label, source="template", evidence_required=p.evidence
        )
        for p in template.points
    ]
    if inspection.kind == InspectionKind.FIRST and loan is not None:
        items.append(
            InspectionItem(
                code="funds.1",
                label=cat.use_of_funds_label.format(purpose=loan.purpose),
                source="use_of_funds",
                evidence_required=cat.use_of_funds_evidence,
            )
        )
        conditions = session.scalars(
            select(ApprovalCondition)
            .where(ApprovalCondition.loan_id == loan.id)
            .order_by(ApprovalCondition.seq)
        )
        items.extend(
            InspectionItem(
                code=f"cond.{c.seq}",
                label=f"Approval condition met: {c.text}",
                source="approval_condition",
                evidence_required=cat.approval_condition_evidence,
            )
            for c in conditions
        )
    for seq, item in enumerate(items, start=1):
        item.inspection_id = inspection.id
        item.seq = seq
        session.add(item)
    session.flush()
    return items


def delete_items(session: Session, inspection_id: str) -> None:
    """Remove the items of an inspection request that is withdrawn before it started."""
    for item in session.scalars(
        select(InspectionItem).where(InspectionItem.inspection_id == inspection_id)
    ):
        session.delete(item)
    session.flush()
