"""``postloanctl compensation`` (issue 12): the deferred pay ledger from the command line.

* ``compensation import FILE.csv``: pay bases (columns ``person,period,performance_pay,currency``,
  a header row); all rows or none, like ``POST /api/v1/compensation/pay-bases``.
* ``compensation release --as-of DATE``: release the tranches due by DATE that no open
  due-diligence review holds; a rerun releases nothing twice.
* ``compensation export [--period P] [--person ID] [--from D] [--to D] > payroll.csv``: the
  ledger as CSV for payroll (the same document as ``GET /api/v1/compensation/ledger.csv``).
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from config.settings import Settings
from postloan.application import compensation as compensation_cases
from postloan.application.ports import database_unit
from postloan.application.services import Services
from postloan.compensation import config as pay_rules
from postloan.compensation import export
from postloan.compensation import rules as arithmetic
from postloan.compensation import service as compensation
from postloan.compensation.config import CompensationConfigError
from postloan.db import unit_of_work
from postloan.errors import DomainError

COMMANDS: tuple[str, ...] = ("compensation",)
ACTOR = "postloanctl"
CSV_FIELDS = ("person", "period", "performance_pay", "currency")


def add_commands(sub: Any) -> None:
    cmd = sub.add_parser(
        "compensation", help="deferred pay: import pay bases, release due tranches, export"
    )
    actions = cmd.add_subparsers(dest="compensation_action", required=True)
    imp = actions.add_parser(
        "import", help="import pay bases from a CSV file (person,period,performance_pay,currency)"
    )
    imp.add_argument("file", type=Path)
    release = actions.add_parser(
        "release", help="release the tranches due by a date that no open review holds"
    )
    release.add_argument("--as-of", type=date.fromisoformat, default=None, help="default: today")
    exp = actions.add_parser("export", help="the ledger as CSV for payroll, on standard output")
    exp.add_argument("--period", default=None, help="one pay period (2026, 2026-Q3, 2026-07)")
    exp.add_argument("--person", default=None)
    exp.add_argument("--kind", default=None, help="one kind of row (paid_now, release, ...)")
    exp.add_argument("--from", dest="effective_from", type=date.fromisoformat, default=None)
    exp.add_argument("--to", dest="effective_to", type=date.fromisoformat, default=None)


def read_items(path: Path) -> list[compensation.PayBaseItem]:
    """The rows of a pay base file; a malformed one raises ValueError naming its line."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [f for f in CSV_FIELDS if f not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: header lacks {', '.join(missing)}")
        items = []
        for line, row in enumerate(reader, start=2):
            values = {f: (row.get(f) or "").strip() for f in CSV_FIELDS}
            empty = [f for f, v in values.items() if not v]
            if empty:
                raise ValueError(f"{path.name} line {line}: {', '.join(empty)} empty")
            try:
                pay = Decimal(values["performance_pay"])
            except InvalidOperation:
                raise ValueError(
                    f"{path.name} line {line}: performance_pay "
                    f"{values['performance_pay']!r} is not a number"
                ) from None
            items.append(
                compensation.PayBaseItem(
                    values["person"], values["period"], pay, values["currency"]
                )
            )
    if not items:
        raise ValueError(f"{path.name}: no rows")
    return items


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        pay_rules.rules()
    except CompensationConfigError as exc:
        print(f"compensation: {exc}", file=sys.stderr)
        return 2
    action = args.compensation_action
    services = Services(uow=database_unit(settings.database_url), engine=None)
    try:
        if action == "import":
            return _import(services, args.file)
        if action == "release":
            as_of = args.as_of or date.today()
            released = compensation_cases.release_due(services, as_of=as_of, actor=ACTOR)
            total = sum((r.amount for r in released), Decimal("0.00"))
            print(
                f"release as of {as_of.isoformat()}: {len(released)} tranche(s) released, "
                f"{total} in total"
            )
            return 0
        return _export(settings, args)
    except DomainError as exc:
        where = f" ({exc.field})" if exc.field else ""
        print(f"compensation {action}{where}: {exc.detail}", file=sys.stderr)
        return 2


def _import(services: Services, path: Path) -> int:
    try:
        items = read_items(path)
    except (OSError, ValueError) as exc:
        print(f"compensation import: {exc}", file=sys.stderr)
        return 2
    results = compensation_cases.import_pay_bases(services, items, actor=ACTOR)
    created = sum(1 for r in results if r.status == "created")
    print(f"pay bases: {created} imported, {len(results) - created} unchanged")
    return 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    if args.period is not None:
        problem = arithmetic.period_problem(args.period, pay_rules.rules().pay_period)
        if problem:
            print(f"compensation export: --period {problem}", file=sys.stderr)
            return 2
    where = compensation.LedgerFilter(
        person=args.person,
        period=args.period,
        kind=args.kind,
        effective_from=args.effective_from,
        effective_to=args.effective_to,
    )
    with unit_of_work(settings.database_url) as session:
        sys.stdout.write(export.ledger_csv(compensation.entries(session, where)))
    return 0
