"""Financial statements: year-on-year drops, equity ratio, net margin, missing statements."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.checks import SCOPE_CUSTOMER, Finding, add_months
from postloan.checks.config import FinancialsConfig
from postloan.financials.models import FinancialStatement

NAME = "financials"

#: Measure compared between the latest two periods -> signal code prefix.
DROPS = (
    ("revenue", "REVENUE_DROP"),
    ("operating_cash_flow", "CASH_FLOW_DROP"),
    ("utility_consumption", "UTILITY_DROP"),
)


def _statement(s: FinancialStatement) -> dict:
    return {
        "period_end": s.period_end.isoformat(),
        "revenue": str(s.revenue),
        "net_profit": str(s.net_profit),
        "total_assets": str(s.total_assets),
        "total_liabilities": str(s.total_liabilities),
        "operating_cash_flow": str(s.operating_cash_flow),
        "utility_consumption": (
            None if s.utility_consumption is None else str(s.utility_consumption)
        ),
    }


def check(
    session: Session, customer_id: str, as_of: date, config: FinancialsConfig
) -> list[Finding]:
    latest_two = list(
        session.scalars(
            select(FinancialStatement)
            .where(
                FinancialStatement.customer_id == customer_id,
                FinancialStatement.period_end <= as_of,
            )
            .order_by(FinancialStatement.period_end.desc())
            .limit(2)
        )
    )
    findings: list[Finding] = []

    def add(code: str, summary: str, evidence: dict) -> None:
        findings.append(
            Finding(code, summary, {"as_of": as_of.isoformat(), **evidence}, scope=SCOPE_CUSTOMER)
        )

    oldest_acceptable = add_months(as_of, -config.statement_max_age_months)
    if not latest_two or latest_two[0].period_end < oldest_acceptable:
        add(
            "STATEMENT_MISSING",
            f"No financial statement for a period ending after {oldest_acceptable.isoformat()}",
            {
                "latest_period_end": latest_two[0].period_end.isoformat() if latest_two else None,
                "max_age_months": config.statement_max_age_months,
            },
        )
    if not latest_two:
        return findings
    latest = latest_two[0]
    pct = round(config.drop_ratio * 100)

    if len(latest_two) == 2:
        previous = latest_two[1]
        for measure, prefix in DROPS:
            before, now = getattr(previous, measure), getattr(latest, measure)
            if before is None or now is None or before <= 0:
                continue
            drop = (before - now) / before
            if drop >= Decimal(str(config.drop_ratio)):
                add(
                    f"{prefix}_{pct}",
                    f"{measure.replace('_', ' ')} down {drop:.0%} "
                    f"({previous.period_end.isoformat()} → {latest.period_end.isoformat()})",
                    {
                        "measure": measure,
                        "previous": _statement(previous),
                        "latest": _statement(latest),
                        "drop": float(round(drop, 4)),
                        "threshold": config.drop_ratio,
                    },
                )

    assets, liabilities = latest.total_assets, latest.total_liabilities
    equity_ratio = float(1 - liabilities / assets) if assets > 0 else None
    evidence = {"latest": _statement(latest), "equity_ratio": equity_ratio}
    if equity_ratio is None or equity_ratio < config.equity_ratio_critical:
        add(
            "EQUITY_RATIO_CRITICAL",
            f"Equity ratio {'n/a' if equity_ratio is None else f'{equity_ratio:.1%}'} "
            f"below {config.equity_ratio_critical:.0%}",
            {**evidence, "threshold": config.equity_ratio_critical},
        )
    elif equity_ratio < config.equity_ratio_low:
        add(
            "EQUITY_RATIO_LOW",
            f"Equity ratio {equity_ratio:.1%} below {config.equity_ratio_low:.0%}",
            {**evidence, "threshold": config.equity_ratio_low},
        )

    if latest.revenue > 0:
        margin: float | None = float(latest.net_profit / latest.revenue)
    else:
        margin = None
    if (margin is not None and margin < config.net_margin_min) or (
        margin is None and latest.net_profit < 0
    ):
        add(
            "NET_MARGIN_NEGATIVE",
            f"Net margin {'n/a (no revenue)' if margin is None else f'{margin:.1%}'} below "
            f"{config.net_margin_min:.0%}",
            {
                "latest": _statement(latest),
                "net_margin": margin,
                "threshold": config.net_margin_min,
            },
        )
    return findings
