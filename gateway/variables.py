"""Typed process variables, both ways.

The engine wants ``{"value": ..., "type": ...}``. Untyped values go wrong in both Python clients
(dicts become Java-serialized objects, datetimes raise), so every value crossing to the engine goes
through :func:`to_engine` and every value coming back through :func:`from_engine`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

ENGINE_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"
INT32 = range(-(2**31), 2**31)


def format_date(value: datetime | date) -> str:
    """``yyyy-MM-dd'T'HH:mm:ss.SSSZ``, the only Date format the engine accepts by default."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.strftime(ENGINE_DATE_FORMAT)  # microseconds: trim to milliseconds
    return text[:-11] + text[-11:-8] + text[-5:]


def parse_date(text: str) -> datetime:
    return datetime.strptime(text, ENGINE_DATE_FORMAT)


def to_engine(value: Any) -> dict[str, Any]:
    """One Python value as a typed engine variable."""
    if value is None:
        return {"value": None, "type": "Null"}
    if isinstance(value, bool):
        return {"value": value, "type": "Boolean"}
    if isinstance(value, int):
        return {"value": value, "type": "Integer" if value in INT32 else "Long"}
    if isinstance(value, float | Decimal):
        return {"value": float(value), "type": "Double"}
    if isinstance(value, str):
        return {"value": value, "type": "String"}
    if isinstance(value, datetime | date):
        return {"value": format_date(value), "type": "Date"}
    if isinstance(value, dict | list | tuple):
        return {"value": json.dumps(value, default=_json_default), "type": "Json"}
    raise TypeError(f"cannot send a {type(value).__name__} to the engine as a variable")


def to_engine_all(values: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {name: to_engine(value) for name, value in (values or {}).items()}


def from_engine(typed: dict[str, Any]) -> Any:
    """One typed engine variable as a Python value (Json parsed, Date as aware datetime)."""
    kind = (typed.get("type") or "").lower()
    value = typed.get("value")
    if value is None:
        return None
    if kind == "json":
        return json.loads(value) if isinstance(value, str) else value
    if kind == "date":
        return parse_date(value)
    if kind == "object":
        fmt = (typed.get("valueInfo") or {}).get("serializationDataFormat", "")
        if fmt == "application/json" and isinstance(value, str):
            return json.loads(value)
    return value


def from_engine_all(variables: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    return {name: from_engine(typed) for name, typed in (variables or {}).items()}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
