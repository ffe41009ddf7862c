"""``deliver_now`` beside the relay on PostgreSQL, where a claim skips rows another claim holds
(``FOR UPDATE SKIP LOCKED``): a request that commits an inspection and delivers its start must
still read the process instance id when the relay thread's claim had the row locked at that
moment (CI's PostgreSQL pass once read ``process_instance_id`` None right after the start)."""

from __future__ import annotations

import threading
import time

import pytest
from pgcluster import create_database
from sqlalchemy import select, text
from test_outbox import FakeEngine, _customer_and_loan

from config.settings import Settings
from postloan.application import inspections as inspection_cases
from postloan.application.ports import database_unit
from postloan.application.relay import OutboxRelay
from postloan.application.services import Services
from postloan.db import get_engine
from postloan.inspections.models import Inspection
from postloan.outbox import service as outbox
from postloan.outbox.models import OutboxMessage

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_uow(postgres_server):  # type: ignore[no-untyped-def]
    from postloanctl.__main__ import migrate

    url = create_database(postgres_server, "outbox_deliver_now")
    migrate(Settings(database_url=url))
    yield database_unit(url)
    get_engine(url).dispose()


def _pending(uow) -> tuple[str, list[int]]:  # type: ignore[no-untyped-def]
    loan_id = _customer_and_loan(uow)
    services = Services(uow=uow, engine=FakeEngine())  # no dispatcher: left owed
    inspection = inspection_cases.start_special_inspection(
        services, loan_id=loan_id, reason="t", actor="tests"
    )
    with uow() as session:
        ids = list(session.scalars(select(OutboxMessage.id)))
    return inspection.id, ids


def test_a_row_another_claim_holds_is_waited_for_not_given_up(pg_uow) -> None:
    inspection_id, ids = _pending(pg_uow)
    # Another relay's claim in progress: the row locked, its lease not committed yet.
    with pg_uow() as other:
        other.execute(
            text("SELECT id FROM outbox_message WHERE id = ANY(:ids) FOR UPDATE"), {"ids": ids}
        )
        with pg_uow() as session:  # what this request sees meanwhile
            assert outbox.leased_elsewhere(session, ids, "request") == []
            assert outbox.unsettled(session, ids, "request") == ids
        engine = FakeEngine()
        released = threading.Event()

        def release() -> None:
            time.sleep(0.5)
            other.rollback()  # that claim lost its race and let go of the row
            released.set()

        threading.Thread(target=release).start()
        OutboxRelay(pg_uow, engine, owner="request", settle_seconds=10).deliver_now(ids)
        assert released.is_set()
    with pg_uow() as session:
        assert session.get(Inspection, inspection_id).process_instance_id == "pi-1"
    assert engine.calls == 1
