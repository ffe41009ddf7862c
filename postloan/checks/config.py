"""The thresholds of the checks, read from ``config/checks.yaml`` and validated."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "checks.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OverdueBand(_Strict):
    from_days: int = Field(ge=1)
    code: str


class RepaymentConfig(_Strict):
    overdue_bands: tuple[OverdueBand, ...]
    trend_instalments: int = Field(ge=2)
    interest_unpaid_days: int = Field(ge=1)


class FinancialsConfig(_Strict):
    drop_ratio: float = Field(gt=0, lt=1)
    equity_ratio_low: float
    equity_ratio_critical: float
    net_margin_min: float
    statement_max_age_months: int = Field(ge=1)


class CollateralConfig(_Strict):
    ltv_max: float = Field(gt=0)
    revaluation_months: dict[str, int]
    default_revaluation_months: int = Field(ge=1)

    def months_for(self, kind: str) -> int:
        return self.revaluation_months.get(kind, self.default_revaluation_months)


class ExternalConfig(_Strict):
    lookback_months: int = Field(ge=1)
    codes: dict[str, str]


class UseOfFundsConfig(_Strict):
    verify_within_months: int = Field(ge=1)


class ChecksConfig(_Strict):
    repayment: RepaymentConfig
    financials: FinancialsConfig
    collateral: CollateralConfig
    external: ExternalConfig
    use_of_funds: UseOfFundsConfig


@lru_cache(maxsize=4)
def load_config(path: Path = DEFAULT_PATH) -> ChecksConfig:
    with Path(path).open(encoding="utf-8") as handle:
        return ChecksConfig.model_validate(yaml.safe_load(handle))
