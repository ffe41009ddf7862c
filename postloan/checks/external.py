"""External information: litigation, enforcement, tax arrears, frozen accounts, shareholder
changes and negative news about the customer in the look-back period."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.checks import SCOPE_CUSTOMER, Finding, add_months
from postloan.checks.config import ExternalConfig
from postloan.events.models import ExternalEvent

NAME = "external"


def check(session: Session, customer_id: str, as_of: date, config: ExternalConfig) -> list[Finding]:
    since = add_months(as_of, -config.lookback_months)
    events = list(
        session.scalars(
            select(ExternalEvent)
            .where(
                ExternalEvent.customer_id == customer_id,
                ExternalEvent.occurred_on >= since,
                ExternalEvent.occurred_on <= as_of,
            )
            .order_by(ExternalEvent.occurred_on, ExternalEvent.id)
        )
    )
    by_kind: dict[str, list[ExternalEvent]] = {}
    for event in events:
        by_kind.setdefault(event.kind, []).append(event)
    findings = []
    for kind, found in by_kind.items():
        code = config.codes.get(kind)
        if code is None:
            continue
        latest = found[-1]
        findings.append(
            Finding(
                code,
                f"{len(found)} {kind.replace('_', ' ')} event(s) since {since.isoformat()}, latest "
                f"{latest.occurred_on.isoformat()} ({latest.source}): {latest.details[:200]}",
                {
                    "as_of": as_of.isoformat(),
                    "since": since.isoformat(),
                    "events": [
                        {
                            "id": e.id,
                            "kind": e.kind,
                            "occurred_on": e.occurred_on.isoformat(),
                            "source": e.source,
                            "source_ref": e.source_ref,
                            "details": e.details,
                        }
                        for e in found
                    ],
                },
                scope=SCOPE_CUSTOMER,
            )
        )
    return findings
