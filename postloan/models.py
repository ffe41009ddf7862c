"""Every model of the domain, imported in one place for migrations and metadata."""

from postloan.access.models import ApiKey
from postloan.assessment import models as _assessment  # noqa: F401 - registered for metadata
from postloan.audit import AuditEvent
from postloan.compensation import models as _compensation  # noqa: F401 - registered
from postloan.covenants import models as _covenants  # noqa: F401 - registered for metadata
from postloan.credit.models import CreditApplication, WebhookDelivery
from postloan.customers.models import Customer
from postloan.db import Base
from postloan.due_diligence import models as _due_diligence  # noqa: F401 - registered
from postloan.events.models import ExternalEvent
from postloan.financials.models import FinancialStatement
from postloan.inspections.models import Inspection, InspectionFinding, InspectionItem
from postloan.loans.models import (
    ApprovalCondition,
    ClassificationChange,
    Collateral,
    CollateralValuation,
    DelinquencyBucketChange,
    Loan,
    Repayment,
)
from postloan.loans.restructuring import LoanRestructuring
from postloan.opportunities import models as _opportunities  # noqa: F401 - registered
from postloan.outbox.models import OutboxMessage
from postloan.plans.models import InspectionPlan
from postloan.processed_task import ProcessedTask
from postloan.rectifications.models import Rectification, RectificationEvidence, Restriction
from postloan.reminders.models import Reminder
from postloan.signals.models import RiskSignal
from postloan.vendors.models import (  # noqa: F401 - registered for metadata
    PhotoHash,
    Vendor,
    VisitAssignment,
    VisitBatch,
    VisitReport,
)

__all__ = [
    "ApiKey",
    "ApprovalCondition",
    "AuditEvent",
    "Base",
    "ClassificationChange",
    "Collateral",
    "CollateralValuation",
    "Customer",
    "DelinquencyBucketChange",
    "ExternalEvent",
    "FinancialStatement",
    "Inspection",
    "InspectionFinding",
    "InspectionItem",
    "InspectionPlan",
    "Loan",
    "LoanRestructuring",
    "ProcessedTask",
    "Rectification",
    "RectificationEvidence",
    "Reminder",
    "Repayment",
    "Restriction",
    "RiskSignal",
    "CreditApplication",
    "WebhookDelivery",
    "OutboxMessage",
]
