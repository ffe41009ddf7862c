"""``postloanctl import`` and ``postloanctl generate``: bulk data in, demo portfolios out."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from config.settings import Settings
from postloan.application.ports import UserDirectory

COMMANDS = ("import", "generate")


def add_commands(sub: argparse._SubParsersAction) -> None:
    from postloan.importer import ORDER

    imp = sub.add_parser(
        "import",
        help="bulk import a CSV (header row) or JSON lines (.jsonl) file",
        description="Validate every row first (errors name line and field), then insert it all "
        "in one transaction: nothing is imported when any row is bad. With --kind all, FILE is a "
        "directory written by `generate`, imported kind after kind in one transaction.",
    )
    imp.add_argument("--kind", required=True, choices=[*ORDER, "all"])
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="day the delinquency buckets are computed for (default: today)",
    )
    gen = sub.add_parser("generate", help="write a realistic demo portfolio as import files")
    gen.add_argument("--loans", type=int, default=5000)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--today", type=date.fromisoformat, default=None)
    gen.add_argument("--out", type=Path, required=True, metavar="DIR")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "generate":
        return generate(args.loans, args.seed, args.today, args.out)
    return import_files(settings, args.kind, args.file, args.as_of)


def generate(loans: int, seed: int, today: date | None, out: Path) -> int:
    from postloanctl.generator import FILES, generate_portfolio, write_portfolio

    started = time.perf_counter()
    counts = write_portfolio(generate_portfolio(loans, seed=seed, today=today), out)
    seconds = time.perf_counter() - started
    rows = sum(counts.values())
    for kind, count in counts.items():
        print(f"{out / FILES[kind]}: {count} rows")
    print(f"generated {rows} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
    return 0


def _directory(settings: Settings) -> UserDirectory:
    """The engine's users (account managers are checked against group account-managers)."""
    from gateway.engine import EngineGateway
    from gateway.ports import EngineAdapter

    return EngineAdapter(
        EngineGateway(
            settings.engine_url,
            settings.engine_api_user,
            settings.engine_api_password.get_secret_value(),
            settings.engine_timeout_seconds,
        )
    )


def import_files(settings: Settings, kind: str, path: Path, as_of: date | None) -> int:
    from api.import_rows import ROW_MODELS
    from postloan.db import unit_of_work
    from postloan.importer import ORDER, Importer, ImportFailed
    from postloanctl.generator import FILES

    if kind == "all":
        if not path.is_dir():
            print(f"--kind all needs a directory, got {path}", file=sys.stderr)
            return 2
        # a kind the generator does not write (restructurings) is read from <kind>.csv
        names = {k: FILES.get(k, f"{k}.csv") for k in ORDER}
        jobs = [(k, path / names[k]) for k in ORDER if (path / names[k]).exists()]
    else:
        if not path.is_file():
            print(f"no such file: {path}", file=sys.stderr)
            return 2
        jobs = [(kind, path)]
    started = time.perf_counter()
    total = 0
    try:
        with unit_of_work(settings.database_url) as session:
            importer = Importer(
                session,
                ROW_MODELS,
                actor="postloanctl:import",
                progress=True,
                as_of=as_of,
                directory=_directory(settings),
            )
            for job_kind, job_path in jobs:
                result = importer.import_file(job_kind, job_path)
                total += result.rows
                print(result.summary(), flush=True)
    except ImportFailed as exc:
        print(f"import failed, nothing was imported ({exc.kind}):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    print(f"imported {total} rows in {seconds:.1f} s ({total / seconds:,.0f} rows/s)")
    return 0
