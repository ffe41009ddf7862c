"""Authenticity checks of an outsourced visit: each finding is a flag ``{code, reason}``.

Pure functions for the rules, plus :func:`check_visit` which looks up the history they need
(photo hashes seen before, the customer's registered address, the vendor's recent notes).
Thresholds come from ``config/vendors.yaml`` (section ``authenticity``).
"""

from __future__ import annotations

import difflib
import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.customers import address
from postloan.customers.models import Customer
from postloan.vendors import config
from postloan.vendors.models import PhotoHash, VisitAssignment, VisitReport

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two WGS84 points, in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def flag(code: str, reason: str) -> dict[str, str]:
    return {"code": code, "reason": reason}


def distance_flag(
    lat: float, lon: float, home: tuple[float, float] | None, max_km: float
) -> dict[str, str] | None:
    if home is None:
        return None
    km = haversine_km(lat, lon, home[0], home[1])
    if km > max_km:
        return flag(
            "gps_far_from_address",
            f"GPS fix is {km:.1f} km from the customer's registered address "
            f"(more than {max_km:g} km)",
        )
    return None


def window_flag(visited_at: datetime, start: datetime, end: datetime) -> dict[str, str] | None:
    visited_at, start, end = _aware(visited_at), _aware(start), _aware(end)
    if visited_at < start or visited_at > end:
        return flag(
            "outside_window",
            f"visited at {visited_at.isoformat()}, outside the assignment window "
            f"{start.isoformat()} .. {end.isoformat()}",
        )
    return None


def notes_flag(
    notes: str, others: list[tuple[str, str]], threshold: float
) -> dict[str, str] | None:
    """``others``: (reference, notes) of other visits; the most similar one at or above the
    threshold is named."""
    text = " ".join(notes.lower().split())
    if not text:
        return None
    best: tuple[float, str] | None = None
    for ref, other in others:
        other_text = " ".join((other or "").lower().split())
        if not other_text:
            continue
        ratio = difflib.SequenceMatcher(None, text, other_text).ratio()
        if ratio >= threshold and (best is None or ratio > best[0]):
            best = (ratio, ref)
    if best is None:
        return None
    return flag("notes_near_duplicate", f"notes are {best[0]:.0%} identical to those of {best[1]}")


def photo_flags(
    hashes: list[str], seen: dict[str, PhotoHash], own_ref: str
) -> list[dict[str, str]]:
    out = []
    for sha in hashes:
        row = seen.get(sha)
        if row is not None and row.first_seen_ref != own_ref:
            where = "pre-loan material" if row.source == "pre_loan" else "an earlier visit"
            out.append(
                flag(
                    "photo_reused",
                    f"photo {sha[:12]}… was already used in {where} ({row.first_seen_ref})",
                )
            )
    return out


def check_visit(session: Session, report: VisitReport) -> list[dict[str, str]]:
    """Every flag of one stored visit; also registers its photo hashes (first use wins)."""
    settings = config.section("authenticity")
    assignment = session.get(VisitAssignment, report.assignment_id)
    own_ref = f"visit:{report.id}"
    hashes = [h.lower() for h in report.photo_sha256 or []]
    seen = (
        {
            row.sha256: row
            for row in session.scalars(select(PhotoHash).where(PhotoHash.sha256.in_(hashes)))
        }
        if hashes
        else {}
    )
    flags: list[dict[str, Any]] = photo_flags(hashes, seen, own_ref)
    # The registered address's coordinates (REST or import); none registered: no GPS finding.
    home = address.home_of(session.get(Customer, assignment.customer_id) if assignment else None)
    far = distance_flag(
        report.latitude, report.longitude, home, float(settings.get("max_distance_km", 2.0))
    )
    if far:
        flags.append(far)
    if assignment is not None:
        late = window_flag(report.visited_at, assignment.window_start, assignment.window_end)
        if late:
            flags.append(late)
        recent = session.execute(
            select(VisitReport.id, VisitReport.inspection_id, VisitReport.notes)
            .join(VisitAssignment, VisitAssignment.id == VisitReport.assignment_id)
            .where(VisitAssignment.vendor_id == assignment.vendor_id, VisitReport.id != report.id)
            .order_by(VisitReport.id.desc())
            .limit(int(settings.get("notes_compare_last", 50)))
        ).all()
        similar = notes_flag(
            report.notes or "",
            [(f"visit {r.id} ({r.inspection_id})", r.notes) for r in recent],
            float(settings.get("notes_similarity_threshold", 0.9)),
        )
        if similar:
            flags.append(similar)
    for sha in hashes:
        if sha not in seen:
            session.add(PhotoHash(sha256=sha, first_seen_ref=own_ref, source="visit"))
            seen[sha] = PhotoHash(sha256=sha, first_seen_ref=own_ref, source="visit")
    return flags


def register_pre_loan_photo(session: Session, sha256: str, ref: str) -> None:
    """Record a photo of pre-loan material (due diligence) so a visit cannot reuse it."""
    sha = sha256.lower()
    if session.get(PhotoHash, sha) is None:
        session.add(PhotoHash(sha256=sha, first_seen_ref=ref, source="pre_loan"))
