"""Delinquency buckets from config/buckets.yaml (pure)."""

from __future__ import annotations

import pytest

from postloan.loans.buckets import BucketConfigError, bucket_for, load_buckets, parse_buckets


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "91-180"),
        (180, "91-180"),
        (181, "181-270"),
        (270, "181-270"),
        (271, "271-360"),
        (360, "271-360"),
        (361, "360+"),
        (5000, "360+"),
    ],
)
def test_bucket_bounds_follow_the_five_category_thresholds(days, bucket):
    assert bucket_for(days) == bucket


def test_the_configured_buckets_fit_the_column():
    assert [b.name for b in load_buckets()] == [
        "current",
        "1-30",
        "31-60",
        "61-90",
        "91-180",
        "181-270",
        "271-360",
        "360+",
    ]


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        (
            [
                {"name": "current", "max_days": 0},
                {"name": "late", "max_days": None},
                {"name": "later", "max_days": 90},
            ],
            "only the last bucket is open-ended",
        ),
        (
            [
                {"name": "current", "max_days": 0},
                {"name": "a", "max_days": 30},
                {"name": "b", "max_days": 30},
                {"name": "c", "max_days": None},
            ],
            "ascending",
        ),
        ([{"name": "a", "max_days": 10}, {"name": "b", "max_days": None}], "must end at 0"),
        ([{"name": "current", "max_days": 0}, {"name": "a", "max_days": 30}], "open-ended"),
        (
            [{"name": "current", "max_days": 0}, {"name": "far too long", "max_days": None}],
            "1 to 10 characters",
        ),
    ],
)
def test_inconsistent_tables_are_refused_naming_the_entry(entries, problem):
    with pytest.raises(BucketConfigError, match=problem):
        parse_buckets({"buckets": entries})


def test_a_custom_table_is_used_when_given():
    table = parse_buckets(
        {
            "buckets": [
                {"name": "current", "max_days": 0},
                {"name": "early", "max_days": 89},
                {"name": "default", "max_days": None},
            ]
        }
    )
    assert [bucket_for(d, table) for d in (0, 1, 89, 90)] == [
        "current",
        "early",
        "early",
        "default",
    ]
