"""Every model of the domain, imported in one place for migrations and metadata."""

from postloan.access.models import ApiKey
from postloan.audit import AuditEvent
from postloan.customers.models import Customer
from postloan.db import Base
from postloan.inspections.models import Inspection, InspectionFinding
from postloan.loans.models import ApprovalCondition, Collateral, Loan, Repayment
from postloan.processed_task import ProcessedTask

__all__ = [
    "ApiKey", "ApprovalCondition", "AuditEvent", "Base", "Collateral", "Customer", "Inspection",
    "InspectionFinding", "Loan", "ProcessedTask", "Repayment",
]
