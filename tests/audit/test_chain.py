"""The chain over normal operation: gap-free seqs, linked hashes, one chain under concurrency."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import delete, select, text, update

from config.settings import ROOT
from postloan import audit
from postloan.audit import AuditEvent, AuditTrailIsAppendOnly
from postloan.db import get_session_factory, unit_of_work

from .conftest import completed_inspection, migrated


def entries(url: str) -> list[AuditEvent]:
    with unit_of_work(url) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def verified(url: str) -> audit.Verification:
    session = get_session_factory(url)()
    try:
        return audit.verify(session, chunk=7)  # a small chunk: the walk crosses chunk borders
    finally:
        session.close()


def append(url: str, count: int, actor: str = "tests") -> None:
    with unit_of_work(url) as session:
        for n in range(count):
            audit.record(
                session,
                actor=actor,
                action="test.appended",
                object_type="test",
                object_id=str(n),
                detail={"n": n},
            )


class TestNormalOperation:
    def test_domain_writes_form_one_intact_chain_with_the_report_proven(self, db_url):
        inspection_id = completed_inspection(db_url)
        rows = entries(db_url)
        assert [e.seq for e in rows] == list(range(1, len(rows) + 1))
        assert rows[0].prev_hash == audit.GENESIS_HASH
        for before, after in zip(rows, rows[1:], strict=False):
            assert after.prev_hash == before.hash
        completed = [e for e in rows if e.action == "inspection.completed"]
        assert completed[0].object_id == inspection_id
        assert len(completed[0].detail["report_sha256"]) == 64
        result = verified(db_url)
        assert result.intact, result.findings
        assert (result.entries, result.reports) == (len(rows), 1)
        assert (result.head_seq, result.head_hash) == (rows[-1].seq, rows[-1].hash)

    def test_entries_of_a_rolled_back_savepoint_or_transaction_are_not_written(self, db_url):
        def note(session, n):
            audit.record(session, actor="t", action="test.noted", object_type="t", object_id=n)

        with unit_of_work(db_url) as session:
            note(session, "kept-before")
            try:
                with session.begin_nested():
                    note(session, "dropped")
                    raise RuntimeError("the savepoint fails")
            except RuntimeError:
                pass
            with session.begin_nested():
                note(session, "kept-in-savepoint")
            note(session, "kept-after")
        with pytest.raises(RuntimeError):
            with unit_of_work(db_url) as session:
                note(session, "rolled-back")
                raise RuntimeError("the transaction fails")
        rows = [e.object_id for e in entries(db_url)]
        assert rows == ["kept-before", "kept-in-savepoint", "kept-after"]
        assert verified(db_url).intact

    def test_each_hash_covers_the_canonical_form_of_the_entry(self, db_url):
        with unit_of_work(db_url) as session:
            audit.record(
                session,
                actor="am_li",
                action="loan.amended",
                object_type="loan",
                object_id="L1",
                detail={
                    "before": {"amount": Decimal("100.50")},
                    "after": {"amount": Decimal("120.00")},
                    "on": datetime(2026, 1, 2, 8, tzinfo=UTC),
                },
            )
        (entry,) = entries(db_url)
        assert entry.detail == {
            "after": {"amount": "120.00"},
            "before": {"amount": "100.50"},
            "on": "2026-01-02T08:00:00.000000+00:00",
        }
        payload = {
            "seq": 1,
            "at": audit.utc_iso(entry.at),
            "actor": "am_li",
            "action": "loan.amended",
            "object_type": "loan",
            "object_id": "L1",
            "detail": entry.detail,
            "prev_hash": audit.GENESIS_HASH,
        }
        import hashlib

        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert entry.hash == hashlib.sha256(canonical.encode()).hexdigest()
        assert audit.utc_iso(entry.at).endswith("+00:00")

    def test_a_rolled_back_transaction_leaves_no_gap(self, db_url):
        append(db_url, 2)
        session = get_session_factory(db_url)()
        audit.record(session, actor="tests", action="test.lost", object_type="test", object_id="x")
        session.flush()  # chained (seq 3) and then rolled back with the head's bump
        session.rollback()
        session.close()
        append(db_url, 2)
        assert [e.seq for e in entries(db_url)] == [1, 2, 3, 4]
        assert "test.lost" not in {e.action for e in entries(db_url)}
        assert verified(db_url).intact

    def test_several_flushes_in_one_transaction_continue_the_chain(self, db_url):
        with unit_of_work(db_url) as session:
            for n in range(3):
                audit.record(
                    session, actor="tests", action="test.step", object_type="test", object_id=str(n)
                )
                session.flush()
        assert [e.seq for e in entries(db_url)] == [1, 2, 3]
        assert verified(db_url).intact


class TestAppendOnlyInTheApplication:
    def test_changing_an_entry_is_refused(self, db_url):
        append(db_url, 1)
        with pytest.raises(AuditTrailIsAppendOnly, match="seq 1 .*append-only"):
            with unit_of_work(db_url) as session:
                session.scalars(select(AuditEvent)).one().actor = "someone else"
        assert entries(db_url)[0].actor == "tests"

    def test_deleting_an_entry_is_refused(self, db_url):
        append(db_url, 1)
        with pytest.raises(AuditTrailIsAppendOnly, match="cannot be deleted"):
            with unit_of_work(db_url) as session:
                session.delete(session.scalars(select(AuditEvent)).one())
        assert len(entries(db_url)) == 1

    @pytest.mark.parametrize(
        "statement",
        [update(AuditEvent).values(actor="x"), delete(AuditEvent)],
        ids=["update", "delete"],
    )
    def test_bulk_statements_are_refused(self, db_url, statement):
        append(db_url, 1)
        with pytest.raises(AuditTrailIsAppendOnly, match="in bulk"):
            with unit_of_work(db_url) as session:
                session.execute(statement)
        assert entries(db_url)[0].actor == "tests"


class TestTheDatabaseRefuses:
    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE audit_event SET actor = 'x' WHERE seq = 1",
            "DELETE FROM audit_event WHERE seq = 1",
        ],
    )
    def test_raw_update_and_delete_of_an_entry(self, db_url, sql):
        append(db_url, 1)
        with pytest.raises(Exception, match="append-only"):
            with unit_of_work(db_url) as session:
                session.execute(text(sql))
        assert [(e.seq, e.actor) for e in entries(db_url)] == [(1, "tests")]

    @pytest.mark.parametrize(
        "sql", ["UPDATE audit_chain_head SET seq = 0", "DELETE FROM audit_chain_head"]
    )
    def test_the_head_never_steps_back(self, db_url, sql):
        append(db_url, 2)
        with pytest.raises(Exception, match="audit_chain_head"):
            with unit_of_work(db_url) as session:
                session.execute(text(sql))
        assert verified(db_url).intact


def concurrent_appenders(
    url: str, threads: int, transactions: int, per_transaction: int, business: bool = False
) -> list[BaseException]:
    """``threads`` appenders, each its own sessions; all start together."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        try:
            start.wait()
            for t in range(transactions):
                with unit_of_work(url) as session:
                    if business:  # something read first, as a request would
                        session.execute(select(AuditEvent.id).limit(1)).all()
                    for n in range(per_transaction):
                        audit.record(
                            session,
                            actor=f"worker-{worker}",
                            action="test.concurrent",
                            object_type="test",
                            object_id=f"{worker}-{t}-{n}",
                        )
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=300)
    return errors


def test_concurrent_appenders_on_sqlite_give_one_chain(db_url):
    threads, transactions, per = 8, 15, 3
    errors = concurrent_appenders(db_url, threads, transactions, per, business=True)
    assert errors == []
    rows = entries(db_url)
    assert len(rows) == threads * transactions * per
    assert [e.seq for e in rows] == list(range(1, len(rows) + 1))
    assert len({e.actor for e in rows}) == threads
    result = verified(db_url)
    assert result.intact, result.findings[:5]
    assert result.entries == len(rows)


def test_the_migration_chains_existing_rows_in_id_order_and_seals_stored_reports(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "0008")
    report = {"loan": {"id": "L-OLD"}, "conclusion": "normal", "amount": "10.00"}
    raw = sqlite3.connect(tmp_path / "old.db")  # foreign keys off: the rows stand alone
    raw.executemany(
        "INSERT INTO audit_event (at, actor, action, object_type, object_id, detail) "
        "VALUES (?, ?, ?, 'loan', 'L-OLD', ?)",
        [
            (f"2025-0{m}-01 10:00:00.000000", f"actor-{m}", f"old.action{m}", json.dumps({"m": m}))
            for m in range(1, 6)
        ],
    )
    raw.execute(
        "INSERT INTO inspection (id, loan_id, kind, reason, status, requested_by, report, "
        "rework_count, created_at, modified_at) VALUES ('INS-OLD', 'L-OLD', 'routine', 'old', "
        "'completed', 'tests', ?, 0, '2025-01-01 00:00:00', '2025-01-01 00:00:00')",
        (json.dumps(report),),
    )
    raw.commit()
    raw.close()
    migrated(url)
    rows = entries(url)
    assert [(e.seq, e.actor) for e in rows[:5]] == [(m, f"actor-{m}") for m in range(1, 6)]
    assert rows[5].action == "inspection.report_sealed" and rows[5].object_id == "INS-OLD"
    assert rows[5].detail["report_sha256"] == audit.sha256_of(report)
    result = verified(url)
    assert result.intact, result.findings
    assert (result.entries, result.reports) == (6, 1)
    append(url, 2)  # the application continues the migrated chain
    assert [e.seq for e in entries(url)] == list(range(1, 9))
    assert verified(url).intact


def test_the_migration_downgrades_and_upgrades_again(db_url):
    append(db_url, 3)
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = db_url
    config.attributes["configure_logger"] = False
    command.downgrade(config, "0008")
    with unit_of_work(db_url) as session:  # no trigger left, no chain columns
        session.execute(text("UPDATE audit_event SET actor = 'x'"))
        assert "seq" not in {r[1] for r in session.execute(text("PRAGMA table_info(audit_event)"))}
    command.upgrade(config, "head")
    assert [(e.seq, e.actor) for e in entries(db_url)] == [(1, "x"), (2, "x"), (3, "x")]
    assert verified(db_url).intact
