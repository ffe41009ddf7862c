from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from gateway.variables import from_engine, to_engine


@pytest.mark.parametrize(
    ("value", "typed"),
    [
        (True, {"value": True, "type": "Boolean"}),
        (False, {"value": False, "type": "Boolean"}),
        (7, {"value": 7, "type": "Integer"}),
        (2**31, {"value": 2**31, "type": "Long"}),
        (0.5, {"value": 0.5, "type": "Double"}),
        (Decimal("1.25"), {"value": 1.25, "type": "Double"}),
        ("x", {"value": "x", "type": "String"}),
        (None, {"value": None, "type": "Null"}),
        ({"a": [1, 2]}, {"value": '{"a": [1, 2]}', "type": "Json"}),
        ([1, "b"], {"value": '[1, "b"]', "type": "Json"}),
    ],
)
def test_python_values_go_out_typed(value, typed):
    assert to_engine(value) == typed


def test_dates_use_the_engine_format_with_milliseconds_and_offset():
    value = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=8)))
    assert to_engine(value) == {"value": "2026-01-02T03:04:05.678+0800", "type": "Date"}
    assert to_engine(date(2026, 1, 2))["value"] == "2026-01-02T00:00:00.000+0000"


def test_naive_datetimes_are_taken_as_utc():
    assert to_engine(datetime(2026, 1, 2))["value"] == "2026-01-02T00:00:00.000+0000"


def test_values_come_back_as_python():
    assert from_engine({"type": "Json", "value": '{"a": 1}'}) == {"a": 1}
    assert from_engine({"type": "Date", "value": "2026-01-02T03:04:05.678+0000"}) == datetime(
        2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC
    )
    assert from_engine(
        {
            "type": "Object",
            "value": '{"risk_class": "loss"}',
            "valueInfo": {"serializationDataFormat": "application/json"},
        }
    ) == {"risk_class": "loss"}
    assert from_engine({"type": "Integer", "value": 3}) == 3


def test_unsupported_values_are_refused_not_serialized_by_java():
    with pytest.raises(TypeError, match="set"):
        to_engine({1, 2})
