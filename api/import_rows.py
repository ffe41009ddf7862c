"""Row models of the bulk import: the API's own input models, plus the id the URL path carries.

``python -m postloanctl import`` validates every row with these, so a file row and a REST call
obey the same rules. The importer (``postloan.importer``) receives them as ``ROW_MODELS``; the
domain core does not import the HTTP layer.
"""

from __future__ import annotations

from pydantic import BaseModel

from api.collaterals import ValuationIn
from api.customers import CustomerIn
from api.events import ExternalEventIn
from api.financials import StatementIn
from api.loans import LoanIn, RepaymentIn
from api.restructurings import RestructuringIn
from api.schemas import Identifier


class RepaymentRow(RepaymentIn):
    loan_id: Identifier


class StatementRow(StatementIn):
    customer_id: Identifier


class ValuationRow(ValuationIn):
    collateral_id: Identifier


class RestructuringRow(RestructuringIn):
    loan_id: Identifier


ROW_MODELS: dict[str, type[BaseModel]] = {
    "customers": CustomerIn,
    "loans": LoanIn,
    "repayments": RepaymentRow,
    "financial-statements": StatementRow,
    "valuations": ValuationRow,
    "external-events": ExternalEventIn,
    "restructurings": RestructuringRow,
}
