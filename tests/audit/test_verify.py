"""``postloanctl audit verify`` on a tampered database: an insider DBA drops the triggers first."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from config.settings import ROOT, get_settings
from postloan.db import get_engine
from postloanctl.__main__ import main

from .conftest import completed_inspection
from .test_chain import append, entries

SQLITE_TRIGGERS = (
    "audit_event_no_update",
    "audit_event_no_delete",
    "audit_chain_head_forward",
    "audit_chain_head_no_delete",
)


@pytest.fixture
def trail(db_url: str) -> str:
    """Ten entries of a finalized inspection and its report, then ten plain ones."""
    completed_inspection(db_url)
    append(db_url, 20 - len(entries(db_url)))
    assert len(entries(db_url)) == 20
    return db_url


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """``main([...])`` against a given database; prints captured by ``capsys``."""

    def run(url: str, *args: str) -> int:
        monkeypatch.setenv("POSTLOAN_DATABASE_URL", url)
        get_settings.cache_clear()
        return main(["audit", "verify", *args])

    yield run
    get_settings.cache_clear()


def tamper(url: str, *statements: str) -> None:
    with get_engine(url).begin() as connection:
        for name in SQLITE_TRIGGERS:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        for statement in statements:
            connection.execute(text(statement))


def inspection_id(url: str) -> str:
    with get_engine(url).connect() as connection:
        return connection.execute(text("SELECT id FROM inspection")).scalar_one()


def test_an_untouched_trail_is_intact(trail, cli, capsys):
    assert cli(trail) == 0
    out = capsys.readouterr().out
    assert "audit chain intact: 20 entries, 1 reports" in out
    head = entries(trail)[-1]
    assert f"head seq 20 hash {head.hash}" in out


def test_an_edited_actor_is_named(trail, cli, capsys):
    tamper(trail, "UPDATE audit_event SET actor = 'someone else' WHERE seq = 4")
    assert cli(trail) == 1
    out = capsys.readouterr().out
    assert "NOT intact" in out
    assert "[altered] seq 4 id 4: content does not match its hash" in out
    assert out.count("[altered]") == 1 and "[broken_link]" not in out


def test_a_deleted_entry_is_named(trail, cli, capsys):
    tamper(trail, "DELETE FROM audit_event WHERE seq = 12")
    assert cli(trail) == 1
    out = capsys.readouterr().out
    assert "[missing] seq 13 id 13: seq 12 missing before it" in out
    assert "[broken_link] seq 13 id 13" in out
    assert "[altered]" not in out


def test_two_swapped_entries_are_named(trail, cli, capsys):
    tamper(
        trail,
        "UPDATE audit_event SET seq = -1 WHERE seq = 15",
        "UPDATE audit_event SET seq = 15 WHERE seq = 16",
        "UPDATE audit_event SET seq = 16 WHERE seq = -1",
    )
    assert cli(trail) == 1
    out = capsys.readouterr().out
    assert "[altered] seq 15 id 16" in out and "[altered] seq 16 id 15" in out
    assert "[reordered] seq 16 id 15" in out


def test_a_removed_last_entry_is_caught_by_the_head(trail, cli, capsys):
    tamper(trail, "DELETE FROM audit_event WHERE seq = 20")
    assert cli(trail) == 1
    out = capsys.readouterr().out
    assert "[head] seq 20: the head names seq 20" in out and "last entry is seq 19" in out


def test_an_entry_appended_outside_the_application_is_caught(trail, cli, capsys):
    last = entries(trail)[-1]
    tamper(
        trail,
        "INSERT INTO audit_event (seq, at, actor, action, object_type, object_id, "
        f"detail, prev_hash, hash) VALUES (21, '2026-01-01 00:00:00.000000', 'dba', 'x', "
        f"'test', 'x', '{{}}', '{last.hash}', '{'f' * 64}')",
    )
    assert cli(trail) == 1
    out = capsys.readouterr().out
    assert "[altered] seq 21" in out and "[head] seq 20" in out


def test_an_edited_report_is_named(trail, cli, capsys):
    ins = inspection_id(trail)
    tamper(
        trail,
        "UPDATE inspection SET report = json_set(report, '$.inspector.conclusion', "
        f"'all fine') WHERE id = '{ins}'",
    )
    assert cli(trail) == 1
    out = capsys.readouterr().out
    assert "[report_altered] seq " in out and f"inspection {ins}: the stored report does not" in out
    assert "[altered]" not in out  # the chain itself is intact


def test_a_report_written_outside_the_application_is_named(trail, cli, capsys):
    ins = inspection_id(trail)
    tamper(trail, "UPDATE inspection SET id = 'INS-FORGED' WHERE id = '" + ins + "'")
    assert cli(trail) == 1
    out = capsys.readouterr().out
    assert "[report_missing]" in out and f"inspection {ins}: the inspection was removed" in out
    assert "[report_unproven] inspection INS-FORGED: a report is stored but no audit event" in out


def test_a_rewritten_chain_is_caught_by_an_anchor(trail, cli, capsys):
    """Recomputing every hash defeats the chain alone; a head noted outside the database
    does not match any more."""
    from postloan import audit

    assert cli(trail) == 0
    anchor = f"20:{entries(trail)[-1].hash}"
    capsys.readouterr()
    rows = entries(trail)
    statements, prev = [], audit.GENESIS_HASH
    for row in rows:  # the insider edits seq 3 and re-hashes everything after it
        actor = "rewritten" if row.seq == 3 else row.actor
        digest = audit.entry_hash(
            seq=row.seq,
            at=row.at,
            actor=actor,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            detail=row.detail,
            prev_hash=prev,
        )
        statements.append(
            f"UPDATE audit_event SET actor = '{actor}', prev_hash = '{prev}', "
            f"hash = '{digest}' WHERE id = {row.id}"
        )
        prev = digest
    statements.append(f"UPDATE audit_chain_head SET hash = '{prev}'")
    tamper(trail, *statements)
    assert cli(trail) == 0  # undetectable without the anchor
    capsys.readouterr()
    assert cli(trail, "--anchor", anchor) == 1
    assert "[anchor] seq 20 id 20: hash" in capsys.readouterr().out


def test_verify_as_a_command_reports_every_kind_of_tampering(trail):
    ins = inspection_id(trail)
    tamper(
        trail,
        "UPDATE audit_event SET actor = 'someone else' WHERE seq = 4",
        "DELETE FROM audit_event WHERE seq = 12",
        "UPDATE audit_event SET seq = -1 WHERE seq = 15",
        "UPDATE audit_event SET seq = 15 WHERE seq = 16",
        "UPDATE audit_event SET seq = 16 WHERE seq = -1",
        "UPDATE inspection SET report = json_set(report, '$.review.decision', 'approve "
        f"without remarks') WHERE id = '{ins}'",
    )
    env = {**os.environ, "POSTLOAN_DATABASE_URL": trail}
    done = subprocess.run(
        [sys.executable, "-m", "postloanctl", "audit", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(done.stdout)
    assert done.returncode == 1, done.stderr
    kinds = [
        line.split("]")[0].strip(" [")
        for line in done.stdout.splitlines()
        if line.startswith("  [")
    ]
    assert {"altered", "missing", "broken_link", "reordered", "report_altered"} <= set(kinds)
    assert "seq 4 id 4" in done.stdout and "seq 13 id 13" in done.stdout
    assert f"inspection {ins}" in done.stdout
    assert "entries/s" not in done.stderr  # no progress bar without a TTY


def test_progress_is_shown_on_a_terminal(trail):
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {**os.environ, "POSTLOAN_DATABASE_URL": trail}
    done = subprocess.run(
        [sys.executable, "-m", "postloanctl", "audit", "verify"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert done.returncode == 0 and "audit chain intact: 20 entries" in done.stdout
    assert "audit chain: 100%" in shown.decode() and "20/20" in shown.decode()
