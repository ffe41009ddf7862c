"""``postloanctl outbox list [--dead]`` and ``postloanctl outbox replay ID|--dead``: the operator's
view of the transactional outbox (what the relay owes, what died and why) and its replay."""

from __future__ import annotations

import argparse
import json
from typing import Any

from config.settings import Settings
from postloan.db import unit_of_work
from postloan.errors import DomainError
from postloan.outbox import service as outbox

COMMANDS = ("outbox",)


def add_commands(sub: Any) -> None:
    cmd = sub.add_parser("outbox", help="outbox messages: list them, replay dead ones")
    actions = cmd.add_subparsers(dest="outbox_action", required=True)
    listing = actions.add_parser("list", help="the latest messages (newest first)")
    listing.add_argument("--dead", action="store_true", help="only dead messages")
    listing.add_argument("--pending", action="store_true", help="only pending messages")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    replay = actions.add_parser("replay", help="deliver a dead message again (audited)")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int, help="the outbox message id")
    which.add_argument("--dead", action="store_true", help="every dead message")


def run(args: argparse.Namespace, settings: Settings) -> int:
    with unit_of_work(settings.database_url) as session:
        if args.outbox_action == "list":
            status = "dead" if args.dead else ("pending" if args.pending else None)
            for m in outbox.messages(session, status, args.limit):
                row = {
                    "id": m.id,
                    "kind": m.kind,
                    "business_key": m.business_key,
                    "status": m.status,
                    "attempts": m.attempts,
                    "next_attempt_at": str(m.next_attempt_at),
                    "last_error": m.last_error,
                    "created_at": str(m.created_at),
                    "delivered_at": str(m.delivered_at) if m.delivered_at else None,
                }
                if args.json:
                    print(json.dumps(row))
                else:
                    print(
                        f"{m.id:>6} {m.status:<9} {m.kind:<15} {m.business_key:<24} "
                        f"attempts={m.attempts} {m.last_error or ''}".rstrip()
                    )
            return 0
        try:
            replayed = outbox.replay(
                session, actor="postloanctl", message_id=args.id, dead=bool(args.dead)
            )
        except DomainError as exc:
            print(f"outbox replay: {exc.detail}")
            return 2
        print(
            f"replayed {len(replayed)} message(s): "
            f"{', '.join(str(m.id) for m in replayed) or 'none'}; the relay delivers them"
        )
        return 0
