"""The covenant rules of ``config/covenants.yaml``: ratio definitions, near-breach margin, test
periods and what a missing statement is, validated."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "covenants.yaml"

#: The statement fields a ratio may use (postloan.financials.service.StatementData).
STATEMENT_FIELDS = (
    "revenue",
    "net_profit",
    "total_assets",
    "total_liabilities",
    "operating_cash_flow",
    "current_assets",
    "current_liabilities",
)
#: Optional statement fields: a ratio using one a statement lacks is not computable.
OPTIONAL_FIELDS = frozenset({"current_assets", "current_liabilities"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RatioDefinition(_Strict):
    label: str
    numerator: dict[str, float] = Field(min_length=1)
    #: empty: the value is an amount, not a ratio
    denominator: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fields_known(self) -> RatioDefinition:
        unknown = (set(self.numerator) | set(self.denominator)) - set(STATEMENT_FIELDS)
        if unknown:
            raise ValueError(f"not statement fields: {sorted(unknown)}")
        return self

    @staticmethod
    def _terms(terms: dict[str, float]) -> str:
        text = ""
        for i, (name, coefficient) in enumerate(terms.items()):
            sign = "-" if coefficient < 0 else "+"
            factor = "" if abs(coefficient) == 1 else f"{abs(coefficient):g} * "
            if i == 0:
                text = f"{'-' if coefficient < 0 else ''}{factor}{name}"
            else:
                text += f" {sign} {factor}{name}"
        return text

    def formula(self) -> str:
        """The formula in words of the statement, e.g. ``total_liabilities / total_assets``."""
        top = self._terms(self.numerator)
        if not self.denominator:
            return top
        bottom = self._terms(self.denominator)
        if len(self.numerator) > 1:
            top = f"({top})"
        if len(self.denominator) > 1:
            bottom = f"({bottom})"
        return f"{top} / {bottom}"


class CovenantsConfig(_Strict):
    ratios: dict[str, RatioDefinition] = Field(min_length=1)
    near_breach_margin: float = Field(ge=0, lt=1)
    near_breach_margins: dict[str, float] = Field(default_factory=dict)
    frequencies: dict[str, tuple[int, ...]] = Field(min_length=1)
    statement_due_days: dict[str, int]
    signal_codes: dict[str, str]

    @model_validator(mode="after")
    def _consistent(self) -> CovenantsConfig:
        for name, months in self.frequencies.items():
            if (
                not months
                or sorted(set(months)) != list(months)
                or not set(months) <= set(range(1, 13))
            ):
                raise ValueError(f"frequency {name!r}: months must be ascending, within 1..12")
        missing = set(self.frequencies) - set(self.statement_due_days)
        if missing:
            raise ValueError(f"statement_due_days lacks {sorted(missing)}")
        unknown = set(self.near_breach_margins) - set(self.ratios)
        if unknown:
            raise ValueError(f"near_breach_margins for unknown ratios {sorted(unknown)}")
        return self

    def margin_for(self, ratio: str) -> float:
        return self.near_breach_margins.get(ratio, self.near_breach_margin)


@lru_cache(maxsize=4)
def load_config(path: Path = DEFAULT_PATH) -> CovenantsConfig:
    with Path(path).open(encoding="utf-8") as handle:
        return CovenantsConfig.model_validate(yaml.safe_load(handle))
