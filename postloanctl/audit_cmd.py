"""``postloanctl audit verify``: prove the audit trail and the stored reports are untouched.

Exit 0 with ``audit chain intact: N entries, M reports`` when every entry's hash, every link,
the head and every sealed report match; exit 1 with one line per problem otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from config.settings import Settings
from postloan import audit
from postloan.db import get_session_factory

COMMANDS = ("audit",)


def _anchor(value: str) -> tuple[int, str]:
    match = re.fullmatch(r"(\d+):([0-9a-f]{64})", value.strip())
    if not match:
        raise argparse.ArgumentTypeError("expected SEQ:HASH, e.g. 1200:<64 hex digits>")
    return int(match.group(1)), match.group(2)


def add_commands(sub: Any) -> None:
    cmd = sub.add_parser("audit", help="the tamper-evident audit trail")
    actions = cmd.add_subparsers(dest="audit_command", required=True)
    verify = actions.add_parser(
        "verify", help="walk the hash chain and re-check every stored inspection report"
    )
    verify.add_argument(
        "--anchor",
        type=_anchor,
        default=None,
        metavar="SEQ:HASH",
        help="a head printed by an earlier run and kept outside the database: "
        "proves the chain was not rewritten since",
    )
    verify.add_argument("--chunk", type=int, default=1000, help="rows fetched at a time")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.audit_command == "verify":
        return verify(settings, anchor=args.anchor, chunk=args.chunk)
    raise SystemExit(f"unknown audit command {args.audit_command!r}")


def verify(settings: Settings, *, anchor: tuple[int, str] | None = None, chunk: int = 1000) -> int:
    session = get_session_factory(settings.database_url)()
    bar = None
    try:
        if sys.stderr.isatty():
            from sqlalchemy import func, select
            from tqdm import tqdm

            total = session.scalar(select(func.count()).select_from(audit.AuditEvent))
            bar = tqdm(total=total, unit="entries", desc="audit chain", file=sys.stderr)
        result = audit.verify(
            session,
            chunk=max(1, chunk),
            anchor=anchor,
            progress=bar.update if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()
        session.rollback()
        session.close()
    head = (
        f"head seq {result.head_seq} hash {result.head_hash}"
        if result.head_seq is not None
        else "no head"
    )
    if result.intact:
        print(f"audit chain intact: {result.entries} entries, {result.reports} reports")
        print(f"{head} (keep it outside the database; pass it as --anchor SEQ:HASH later)")
        return 0
    print(
        f"audit chain NOT intact: {len(result.findings)} problems in {result.entries} "
        f"entries, {result.reports} reports"
    )
    for finding in result.findings:
        print(f"  {finding}")
    print(head)
    return 1
