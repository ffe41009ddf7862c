"""``postloanctl compensation`` (issue 12)."""

from __future__ import annotations

import argparse
from typing import Any

from config.settings import Settings

COMMANDS: tuple[str, ...] = ()


def add_commands(sub: Any) -> None:
    return None


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise NotImplementedError(args.command)
