"""``config/compensation.yaml``: the deferred share and years, the clawback share per review
outcome, the pay period convention, the reach of a review, the currency and the rounding.

Validated with pydantic when first read; a broken file raises :class:`CompensationConfigError`
naming the key (the API reads it when it starts, ``postloanctl compensation`` before it works).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from postloan.bounds import bounds

CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "compensation.yaml"

#: The outcomes of a due-diligence review (``postloan.compensation.service.OUTCOMES``).
OUTCOME_NAMES = ("exempt", "reduced", "full_accountability")
ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}


class CompensationConfigError(ValueError):
    """``config/compensation.yaml`` is wrong; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutcomeRule(_Strict):
    #: the share of each held tranche clawed back once the outcome is final
    clawback_share: Decimal = Field(ge=0, le=1)
    #: hold the person's unreleased tranches in reach from the determination until final
    hold: bool = True


class Reach(_Strict):
    #: ``disbursement``: periods that ended on or after the loan's disbursement; ``any``: all
    from_: Literal["disbursement", "any"] = Field(alias="from")


class CompensationRules(_Strict):
    currency: str
    pay_period: Literal["year", "quarter", "month"]
    deferred_share: Decimal = Field(ge=0, le=1)
    deferral_years: int = Field(ge=1, le=10)
    rounding: Literal["half_up", "half_even", "down"]
    outcomes: dict[str, OutcomeRule]
    reach: Reach

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, code: str) -> str:
        problem = bounds().currency_problem(code)
        if problem:
            raise ValueError(problem)
        return code

    @field_validator("outcomes")
    @classmethod
    def _every_outcome(cls, outcomes: dict[str, OutcomeRule]) -> dict[str, OutcomeRule]:
        missing = sorted(set(OUTCOME_NAMES) - set(outcomes))
        unknown = sorted(set(outcomes) - set(OUTCOME_NAMES))
        if missing or unknown:
            raise ValueError(
                f"needs exactly the outcomes {', '.join(OUTCOME_NAMES)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(unknown)}" if unknown else "")
            )
        return outcomes

    def outcome(self, name: str) -> OutcomeRule:
        return self.outcomes[name]

    @property
    def rounding_mode(self) -> str:
        return ROUNDING_MODES[self.rounding]


def parse(raw: object, *, source: str = CONFIG_FILE.name) -> CompensationRules:
    """The rules of a parsed YAML document; every problem named by its key."""
    if not isinstance(raw, dict):
        raise CompensationConfigError(f"{source}: a mapping of settings expected")
    try:
        return CompensationRules.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise CompensationConfigError(f"{source}: {problems}") from None


def load(path: Path | None = None) -> CompensationRules:
    """Read and check the file (``config/compensation.yaml`` unless ``path``)."""
    path = path or CONFIG_FILE
    return parse(yaml.safe_load(path.read_text(encoding="utf-8")), source=path.name)


@lru_cache
def rules() -> CompensationRules:
    """The configured rules, read once per process."""
    return load()
