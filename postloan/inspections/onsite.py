"""Unannounced on-site verification: when it is required, and its recorded result.

Rules live in ``config/onsite.yaml``: always for a high-risk loan (its class, or a red signal),
otherwise a deterministic sample of the inspections (a hash of the inspection id against the rate).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from postloan import audit
from postloan.errors import InvalidInput
from postloan.inspections.models import InspectionFinding
from postloan.inspections.service import get, open_signals, record_finding
from postloan.loans import service as loans

CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "onsite.yaml"
RATE_ENV = "POSTLOAN_ONSITE_SAMPLE_RATE"
SOURCE = "onsite_verification"
CODE = "ONSITE_RESULT"
RESULTS = ("confirmed", "discrepancies")


@dataclass(frozen=True)
class OnsiteConfig:
    sample_rate: float
    high_risk_classes: frozenset[str]
    high_risk_signal_severities: frozenset[str]


def load_config(path: Path = CONFIG_FILE, env: str | None = None) -> OnsiteConfig:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    env = env if env is not None else os.environ.get("POSTLOAN_ENV", "development")
    rate = raw.get("sample_rate_by_env", {}).get(env, raw.get("sample_rate", 0.0))
    if os.environ.get(RATE_ENV):
        rate = os.environ[RATE_ENV]
    rate = float(rate)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"on-site sample rate {rate} is not between 0 and 1")
    return OnsiteConfig(
        sample_rate=rate,
        high_risk_classes=frozenset(raw.get("high_risk_classes", [])),
        high_risk_signal_severities=frozenset(raw.get("high_risk_signal_severities", [])),
    )


def sampled(inspection_id: str, rate: float) -> bool:
    """The same inspection id always gives the same draw: a uniform value in [0, 1) < rate."""
    digest = hashlib.sha256(inspection_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


@dataclass(frozen=True)
class OnsiteDecision:
    required: bool
    reason: str


def decide(
    session: Session,
    inspection_id: str,
    *,
    proposed_class: str | None = None,
    config: OnsiteConfig | None = None,
) -> OnsiteDecision:
    """Whether an approved inspection gets an unannounced on-site verification, and why."""
    config = config or load_config()
    inspection = get(session, inspection_id)
    loan = loans.get(session, inspection.loan_id)
    for risk_class in (loan.risk_class, proposed_class):
        if risk_class and risk_class in config.high_risk_classes:
            return OnsiteDecision(True, f"high-risk loan (class {risk_class})")
    red = [
        s
        for s in open_signals(session, loan)
        if s["severity"] in config.high_risk_signal_severities
    ]
    if red:
        signal = red[0]
        return OnsiteDecision(
            True, f"high-risk loan ({signal['severity']} signal {signal['code']})"
        )
    if sampled(inspection_id, config.sample_rate):
        return OnsiteDecision(True, f"sampled at rate {config.sample_rate}")
    return OnsiteDecision(False, f"not sampled at rate {config.sample_rate}")


def record_result(
    session: Session,
    inspection_id: str,
    *,
    result: str,
    findings: str,
    verifier: str,
    ordered_because: str,
    actor: str,
) -> InspectionFinding:
    """The verifier's result as a finding of source ``onsite_verification`` (one per inspection:
    a later verification replaces it)."""
    if result not in RESULTS:
        raise InvalidInput(
            f"onsite_result must be one of {', '.join(RESULTS)}", field="onsite_result"
        )
    if not (findings or "").strip():
        raise InvalidInput("onsite_findings is required", field="onsite_findings")
    get(session, inspection_id)
    finding = record_finding(
        session,
        inspection_id,
        source=SOURCE,
        code=CODE,
        severity="info" if result == "confirmed" else "orange",
        summary=f"On-site verification: {result}",
        evidence={
            "result": result,
            "findings": findings.strip(),
            "verifier": verifier,
            "ordered_because": ordered_because,
        },
    )
    audit.record(
        session,
        actor=verifier or actor,
        action="inspection.onsite_verified",
        object_type="inspection",
        object_id=inspection_id,
        detail={"result": result, "ordered_because": ordered_because},
    )
    return finding
