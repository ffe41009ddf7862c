"""Shared field types of the REST contract."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$",
                                  examples=["C-000123"])]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["CNY"])]
Money = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)]
MoneyOrZero = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]


class Strict(BaseModel):
    """Unknown fields are refused: a misspelt field must not be silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(BaseModel):
    total: int
    limit: int
    offset: int
