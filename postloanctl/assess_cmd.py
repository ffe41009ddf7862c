"""``postloanctl assess --period 2026-Q3 [--level LEVEL ...]`` (issue 12): compute a closed
period's indicators and scorecards and store them (replacing an earlier computation), audited."""

from __future__ import annotations

import argparse
import time
from datetime import date
from typing import Any

from config.settings import Settings
from postloan.assessment import service as assessment
from postloan.assessment.results import LEVELS
from postloan.db import unit_of_work
from postloan.errors import DomainError

COMMANDS: tuple[str, ...] = ("assess",)


def add_commands(sub: Any) -> None:
    cmd = sub.add_parser(
        "assess",
        help="compute and store a closed period's assessment (indicators, scores, bands)",
    )
    cmd.add_argument(
        "--period", required=True, help="a closed month (2026-09), quarter (2026-Q3) or year"
    )
    cmd.add_argument(
        "--level",
        action="append",
        choices=LEVELS,
        help="only this level (repeatable; default: every level)",
    )
    cmd.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help=argparse.SUPPRESS
    )  # tests: the day the period must be closed by


def run(args: argparse.Namespace, settings: Settings) -> int:
    levels = args.level or list(LEVELS)
    started = time.perf_counter()
    try:
        with unit_of_work(settings.database_url) as session:
            computed = assessment.store_period(
                session,
                period=args.period,
                levels=levels,
                actor="postloanctl",
                today=args.as_of,
            )
    except DomainError as exc:
        print(f"assess: {exc.detail}")
        return 2
    seconds = time.perf_counter() - started
    for level, cards in computed.items():
        best = (
            f"; best {cards[0].subject_id} {cards[0].score:.1f} ({cards[0].band})" if cards else ""
        )
        bands: dict[str, int] = {}
        for card in cards:
            bands[card.band] = bands.get(card.band, 0) + 1
        spread = ", ".join(f"{band} {n}" for band, n in sorted(bands.items()))
        print(f"{args.period} {level}: {len(cards)} subjects{best}; {spread or 'no bands'}")
    print(f"stored {args.period} ({', '.join(levels)}) in {seconds:.1f}s")
    return 0
