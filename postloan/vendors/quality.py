"""A vendor's quality score: 100 minus penalties for rejected visits, mismatches found at the
independent re-visit and late visits (weights in ``config/vendors.yaml``, section ``quality``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.vendors import config
from postloan.vendors.models import Vendor, VisitAssignment, VisitReport


def components(session: Session, vendor_id: str) -> dict[str, Any]:
    settings = config.section("quality")
    rows = session.scalars(
        select(VisitReport)
        .join(VisitAssignment, VisitAssignment.id == VisitReport.assignment_id)
        .where(VisitAssignment.vendor_id == vendor_id)
        .order_by(VisitReport.id.desc())
        .limit(int(settings.get("last_visits", 200)))
    ).all()
    rejected = sum(1 for r in rows if r.decision == "rejected")
    mismatches = sum(1 for r in rows if r.supervision_result == "mismatch")
    late = sum(1 for r in rows if any(f.get("code") == "outside_window" for f in r.flags or []))
    penalties = {
        "rejections": rejected * float(settings.get("rejection_penalty", 5)),
        "mismatches": mismatches * float(settings.get("mismatch_penalty", 15)),
        "lateness": late * float(settings.get("late_penalty", 2)),
    }
    return {
        "visits": len(rows),
        "rejected_visits": rejected,
        "supervision_mismatches": mismatches,
        "late_visits": late,
        "penalties": penalties,
        "score": max(0.0, round(100.0 - sum(penalties.values()), 1)),
    }


def recompute(session: Session, vendor_id: str) -> float:
    """Store the vendor's current score and return it."""
    vendor = session.get(Vendor, vendor_id)
    score = components(session, vendor_id)["score"]
    if vendor is not None:
        vendor.quality_score = score
    return score
