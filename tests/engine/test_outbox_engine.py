"""The outbox relay against the real engine: a message nobody waits for, as the engine says it."""

from __future__ import annotations

import uuid

import pytest

from gateway.engine import EngineGateway
from gateway.ports import EngineAdapter
from postloan.application.ports import database_unit
from postloan.application.relay import OutboxRelay
from postloan.outbox import service as outbox
from postloan.outbox.models import OutboxMessage

pytestmark = pytest.mark.engine


def test_an_accepted_visit_nobody_waits_for_is_delivered_with_that_note(provisioned, database):
    engine = EngineAdapter(
        EngineGateway(
            provisioned.engine_url,
            provisioned.engine_worker_user,
            provisioned.engine_worker_password.get_secret_value(),
        )
    )
    uow = database_unit(database)
    absent = f"INS-NOBODY-{uuid.uuid4().hex[:8]}"
    with uow() as session:
        optional = outbox.enqueue_message(
            session,
            message_name="vendor_visit_accepted",
            business_key=absent,
            only_if_waiting=True,
        ).id
        required = outbox.enqueue_message(
            session, message_name="vendor_visit_accepted", business_key=absent
        ).id
    OutboxRelay(uow, engine).deliver_now([optional, required])
    with uow() as session:
        done, owed = session.get(OutboxMessage, optional), session.get(OutboxMessage, required)
        assert (done.status, done.result) == ("delivered", "nobody waiting")
        assert owed.status == "pending" and owed.attempts == 1, owed.last_error
        # the real engine's words, which the relay relies on to tell "nobody waiting"
        assert "matches the parameters" in (owed.last_error or "")
