"""The transactional outbox and its relay, against a migrated SQLite database and fake far sides
(the engine's and the receiver's behaviour is what the fakes count; the relay, the leases and the
backoff are the real ones)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlite_template import copy_of

from postloan.application import inspections as inspection_cases
from postloan.application.ports import EngineFailure, database_unit
from postloan.application.relay import OutboxRelay
from postloan.application.services import Services
from postloan.audit import AuditEvent
from postloan.credit import webhook
from postloan.credit.models import CreditApplication, WebhookDelivery
from postloan.customers import service as customers
from postloan.db import utcnow
from postloan.inspections.models import Inspection
from postloan.loans import service as loans
from postloan.outbox import service as outbox
from postloan.outbox.models import OutboxMessage

FAST = outbox.RetryPolicy(max_attempts=3, base_seconds=0.0, max_seconds=0.0)


@pytest.fixture
def uow(tmp_path, sqlite_template):  # type: ignore[no-untyped-def]
    return database_unit(copy_of(sqlite_template, tmp_path / "outbox.db"))


class FakeEngine:
    """Starts "instances" the way the engine would: one per call, remembering the variables.
    ``refuse`` calls fail first (the engine down); ``lock`` makes each start wait for it."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.instances: list[dict[str, Any]] = []
        self.correlations: list[dict[str, Any]] = []
        self.calls = 0
        self.lock = threading.Lock()

    def start_process(self, key: str, business_key: str, variables: dict | None = None) -> str:
        with self.lock:
            self.calls += 1
            if self.refuse > 0:
                self.refuse -= 1
                raise ConnectionError("engine unreachable at http://127.0.0.1:9")
            pid = f"pi-{len(self.instances) + 1}"
            self.instances.append(
                {
                    "id": pid,
                    "key": key,
                    "business_key": business_key,
                    "variables": dict(variables or {}),
                }
            )
            return pid

    def started_instance(self, key: str, business_key: str, outbox_id: int) -> str | None:
        with self.lock:
            for i in self.instances:
                if i["business_key"] == business_key and i["variables"].get("outbox_id") == str(
                    outbox_id
                ):
                    return i["id"]
        return None

    def correlate_message(
        self, message: str, business_key: str | None = None, variables: dict | None = None
    ) -> None:
        self.correlations.append(
            {"message": message, "business_key": business_key, "variables": dict(variables or {})}
        )

    def message_correlated(self, business_key: str, outbox_id: int) -> bool:
        return any(f"outbox_{outbox_id}" in c["variables"] for c in self.correlations)


class FakeReceiver:
    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.posts: list[tuple[str, bytes, str]] = []

    def send(self, url: str, body: bytes, event_id: str) -> None:
        self.posts.append((url, body, event_id))
        if len(self.posts) <= self.fail_first:
            raise RuntimeError(f"{url} answered 500")


def _customer_and_loan(uow, overdue_days: int = 0) -> str:  # type: ignore[no-untyped-def]
    suffix = uuid.uuid4().hex[:8]
    with uow() as session:
        customers.register(
            session,
            customers.CustomerData(
                id=f"C-{suffix}",
                name="Outbox Co",
                segment="sme",
                industry="retail",
                branch="BR-SH-01",
                account_manager="am_li",
                credit_rating="A",
            ),
            actor="tests",
        )
        loans.register(
            session,
            loans.LoanData(
                id=f"L-{suffix}",
                customer_id=f"C-{suffix}",
                product="SME-WC",
                amount=Decimal("1000"),
                currency="CNY",
                disbursed_on=date.today() - timedelta(60),
                maturity_on=date.today() + timedelta(300),
                purpose="stock",
                approval_conditions=[],
                collaterals=[],
            ),
            actor="tests",
        ).created_at = utcnow() - timedelta(60)  # registered when disbursed: overdue is new
        if overdue_days:
            loans.record_repayment(
                session,
                f"L-{suffix}",
                loans.RepaymentData(
                    due_on=date.today() - timedelta(overdue_days),
                    due_amount=Decimal("100"),
                    paid_on=None,
                    paid_amount=Decimal("0"),
                ),
                actor="tests",
            )
    return f"L-{suffix}"


def _count(uow, model, *where) -> int:  # type: ignore[no-untyped-def]
    with uow() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


class TestSameTransaction:
    def test_a_failing_business_change_leaves_no_outbox_row(self, uow) -> None:
        loan_id = _customer_and_loan(uow)
        with pytest.raises(RuntimeError), uow() as session:
            inspection_cases.request_special_inspection(session, loan_id, "test", "t:1", "tests")
            raise RuntimeError("the request failed after the inspection was written")
        assert _count(uow, OutboxMessage) == 0
        assert _count(uow, Inspection, Inspection.kind == "special") == 0

    def test_a_committed_change_always_has_its_row(self, uow) -> None:
        loan_id = _customer_and_loan(uow)
        services = Services(uow=uow, engine=FakeEngine())  # no dispatcher: nothing delivered
        inspection = inspection_cases.start_special_inspection(
            services, loan_id=loan_id, reason="test", actor="tests"
        )
        assert inspection.process_instance_id is None  # until the relay delivers
        with uow() as session:
            (row,) = session.scalars(select(OutboxMessage)).all()
            assert (row.kind, row.business_key, row.status) == (
                "process_start",
                inspection.id,
                "pending",
            )
            assert row.payload["process_key"] == "post_loan_inspection"
            assert row.payload["variables"]["inspection_id"] == inspection.id


class TestRelay:
    def test_delivers_once_even_when_run_twice_and_concurrently(self, uow) -> None:
        loan_ids = [_customer_and_loan(uow) for _ in range(6)]
        services = Services(uow=uow, engine=FakeEngine())
        for loan_id in loan_ids:
            inspection_cases.start_special_inspection(
                services, loan_id=loan_id, reason="t", actor="tests"
            )
        engine = FakeEngine()
        relays = [OutboxRelay(uow, engine, batch_size=2) for _ in range(4)]
        barrier = threading.Barrier(len(relays))

        def run(relay: OutboxRelay) -> None:
            barrier.wait()
            for _ in range(5):
                relay.deliver_due()

        threads = [threading.Thread(target=run, args=(r,)) for r in relays]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        relays[0].deliver_due()  # once more: nothing left
        assert engine.calls == 6 and len(engine.instances) == 6
        assert len({i["business_key"] for i in engine.instances}) == 6
        with uow() as session:
            rows = session.scalars(select(OutboxMessage)).all()
            assert {r.status for r in rows} == {"delivered"} and {r.attempts for r in rows} == {1}
            started = session.scalars(
                select(Inspection).where(Inspection.loan_id.in_(loan_ids))
            ).all()
            assert {i.process_instance_id for i in started} == {i["id"] for i in engine.instances}
            # every instance carries its outbox id
            assert {i["variables"]["outbox_id"] for i in engine.instances} == {
                str(r.id) for r in rows
            }

    def test_a_start_whose_record_was_lost_is_not_started_again(self, uow) -> None:
        loan_id = _customer_and_loan(uow)
        services = Services(uow=uow, engine=FakeEngine())
        inspection_cases.start_special_inspection(
            services, loan_id=loan_id, reason="t", actor="tests"
        )
        engine = FakeEngine()
        OutboxRelay(uow, engine).deliver_due()
        with uow() as session:  # the settling commit "lost": the row is pending again
            session.execute(update(OutboxMessage).values(status="pending", delivered_at=None))
        OutboxRelay(uow, engine).deliver_due()
        assert (
            engine.calls == 1
            and _count(uow, OutboxMessage, OutboxMessage.status == "delivered") == 1
        )

    def test_refused_retries_with_backoff_then_dead_then_replay_delivers(self, uow) -> None:
        loan_id = _customer_and_loan(uow)
        services = Services(uow=uow, engine=FakeEngine())
        inspection = inspection_cases.start_special_inspection(
            services, loan_id=loan_id, reason="t", actor="tests"
        )
        engine = FakeEngine(refuse=10)
        policy = outbox.RetryPolicy(max_attempts=3, base_seconds=10, max_seconds=60)
        relay = OutboxRelay(uow, engine, policy=policy)

        assert relay.deliver_due().failed == 1
        with uow() as session:
            row = session.scalars(select(OutboxMessage)).one()
            wait = row.next_attempt_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
            assert timedelta(seconds=8) < wait <= timedelta(seconds=10)
            assert "engine unreachable" in (row.last_error or "")
        assert relay.deliver_due().failed == 0 and engine.calls == 1  # not due yet

        def make_due() -> None:
            with uow() as session:
                session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))

        make_due()
        relay.deliver_due()
        with uow() as session:  # second backoff doubles
            row = session.scalars(select(OutboxMessage)).one()
            wait = row.next_attempt_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
            assert row.attempts == 2 and timedelta(seconds=18) < wait <= timedelta(seconds=20)
        make_due()
        assert relay.deliver_due().dead == 1
        make_due()
        assert relay.deliver_due().failed == 0 and engine.calls == 3  # dead stays dead
        with uow() as session:
            assert [m.id for m in outbox.messages(session, "dead")] == [row.id]
            dead_events = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "outbox.dead")
            ).all()
            assert [e.object_id for e in dead_events] == [str(row.id)]
            assert dead_events[0].detail["attempts"] == 3

        engine.refuse = 0
        with uow() as session:
            assert [m.id for m in outbox.replay(session, actor="ops", dead=True)] == [row.id]
        assert relay.deliver_due().delivered == 1
        with uow() as session:
            row = session.get(OutboxMessage, row.id)
            assert row.status == "delivered" and row.attempts == 1
            assert session.get(Inspection, inspection.id).process_instance_id == "pi-1"
        assert len(engine.instances) == 1

    def test_a_webhook_is_delivered_once_with_the_outbox_id_as_event_id(self, uow) -> None:
        loan_id = _customer_and_loan(uow)
        with uow() as session:
            customer_id = loans.get(session, loan_id).customer_id
            application = CreditApplication(
                id=f"CA-{uuid.uuid4().hex[:8]}",
                customer_id=customer_id,
                product="P",
                amount=Decimal("10"),
                currency="CNY",
                requested_by="tests",
                status="blocked",
            )
            session.add(application)
            session.flush()
            webhook.owe(session, application, "http://origination.test/hook")
            webhook.owe(session, application, "http://origination.test/hook")  # a repeat
            application_id = application.id
        receiver = FakeReceiver(fail_first=1)
        relay = OutboxRelay(uow, FakeEngine(), webhooks=receiver, policy=FAST)
        relay.deliver_due()
        relay.deliver_due()
        relay.deliver_due()
        with uow() as session:
            (row,) = session.scalars(select(OutboxMessage)).all()
            delivery = session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.application_id == application_id)
            ).one()
        assert row.status == "delivered" and row.attempts == 2
        assert [p[2] for p in receiver.posts] == [str(row.id), str(row.id)]
        assert receiver.posts[0][1] == receiver.posts[1][1] == webhook.body(delivery.payload)
        assert delivery.attempts == 2 and delivery.delivered_at is not None
        assert delivery.last_error is None

    def test_a_message_correlation_carries_its_outbox_id_and_goes_once(self, uow) -> None:
        with uow() as session:
            message = outbox.enqueue_message(
                session, message_name="evidence_submitted", business_key="R-1", variables={"n": 1}
            )
            message_id = message.id
        engine = FakeEngine()
        relay = OutboxRelay(uow, engine)
        relay.deliver_due()
        with uow() as session:
            session.execute(update(OutboxMessage).values(status="pending", delivered_at=None))
        relay.deliver_due()
        assert len(engine.correlations) == 1
        assert engine.correlations[0]["variables"]["outbox_id"] == str(message_id)

    def test_a_message_nobody_waits_for_is_delivered_with_that_note_only_if_allowed(
        self, uow
    ) -> None:
        class NobodyWaiting(FakeEngine):
            def correlate_message(self, message, business_key=None, variables=None) -> None:
                raise EngineFailure(
                    400,
                    f"Cannot correlate message '{message}': No process definition or execution "
                    "matches the parameters",
                )

        with uow() as session:
            optional = outbox.enqueue_message(
                session,
                message_name="vendor_visit_accepted",
                business_key="INS-1",
                only_if_waiting=True,
            ).id
            required = outbox.enqueue_message(
                session, message_name="evidence_submitted", business_key="R-1"
            ).id
        OutboxRelay(uow, NobodyWaiting()).deliver_due()
        with uow() as session:
            done, owed_still = (
                session.get(OutboxMessage, optional),
                session.get(OutboxMessage, required),
            )
            assert done.status == "delivered" and done.attempts == 1
            assert done.result == "nobody waiting"
            assert owed_still.status == "pending" and owed_still.attempts == 1
            assert "No process definition or execution" in (owed_still.last_error or "")


class TestDerivedTrigger:
    def test_an_overdue_loan_whose_special_start_was_lost_gets_exactly_one(self, uow) -> None:
        lost = _customer_and_loan(uow, overdue_days=5)  # recorded without its trigger
        current = _customer_and_loan(uow)
        services = Services(uow=uow, engine=FakeEngine())
        started = inspection_cases.start_missing_overdue_inspections(services)
        again = inspection_cases.start_missing_overdue_inspections(services)
        assert lost in started and current not in started and lost not in again
        specials = _count(uow, Inspection, Inspection.loan_id == lost, Inspection.kind == "special")
        assert specials == 1
        with uow() as session:
            (special,) = session.scalars(select(Inspection).where(Inspection.loan_id == lost)).all()
            assert special.trigger_ref == f"repayment:{lost}"
            assert special.reason.startswith("New overdue: 5 days past due")
            assert (
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.business_key == special.id)
                )
                == 1
            )
            # completed and closed: this overdue episode is served, no new one
            special.status = "completed"
            special.report = {"test": "done"}
        assert lost not in inspection_cases.start_missing_overdue_inspections(services)


class TestOperatorCommands:
    def test_outbox_list_dead_and_replay(self, uow, tmp_path, capsys) -> None:
        import argparse
        import types

        from postloanctl import outbox_cmd

        with uow() as session:
            message = outbox.enqueue_message(session, message_name="m", business_key="R-9")
            message_id = message.id
        relay = OutboxRelay(uow, FakeEngine(), policy=outbox.RetryPolicy(max_attempts=1))
        relay.engine.correlate_message = lambda *a, **k: (_ for _ in ()).throw(  # type: ignore[method-assign]
            RuntimeError("no instance waits for m")
        )
        assert relay.deliver_due().dead == 1
        settings = types.SimpleNamespace(database_url=f"sqlite:///{tmp_path / 'outbox.db'}")
        parser = argparse.ArgumentParser()
        outbox_cmd.add_commands(parser.add_subparsers(dest="command"))
        assert (
            outbox_cmd.run(parser.parse_args(["outbox", "list", "--dead", "--json"]), settings) == 0
        )  # type: ignore[arg-type]
        listed = capsys.readouterr().out
        assert f'"id": {message_id}' in listed and "no instance waits for m" in listed
        assert (
            outbox_cmd.run(parser.parse_args(["outbox", "replay", str(message_id)]), settings) == 0
        )  # type: ignore[arg-type]
        assert "replayed 1 message(s)" in capsys.readouterr().out
        with uow() as session:
            assert session.get(OutboxMessage, message_id).status == "pending"
            assert (
                session.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.action == "outbox.replayed")
                )
                == 1
            )
        assert outbox_cmd.run(parser.parse_args(["outbox", "replay", "999"]), settings) == 2  # type: ignore[arg-type]


class TestRectificationEvidence:
    """``POST /rectifications/{id}/evidence``: the evidence and its message, one transaction."""

    def _item(self, services: Services, loan_id: str) -> str:
        from postloan.application import rectifications as rectification_cases

        with services.uow() as session:
            customer_id = loans.get(session, loan_id).customer_id
        return rectification_cases.open_rectification(
            services,
            customer_id=customer_id,
            loan_id=loan_id,
            source="audit",
            source_ref="",
            title="Insurance lapsed",
            description="renew it",
            severity="minor",
            owner="am_li",
            raised_by="tests",
        ).id

    def test_evidence_owes_one_message_with_the_summary_and_further_evidence_none(
        self, uow
    ) -> None:
        from postloan.application import rectifications as rectification_cases

        engine = FakeEngine()
        services = Services(uow=uow, engine=engine, dispatch=OutboxRelay(uow, engine, policy=FAST))
        rec_id = self._item(services, _customer_and_loan(uow))
        assert [i["key"] for i in engine.instances] == ["rectification"]

        item = rectification_cases.submit_evidence(
            services, rec_id, submitted_by="am_li", description="renewed", documents=["p.pdf"]
        )
        assert item.status == "evidence_submitted"
        (sent,) = engine.correlations
        assert (sent["message"], sent["business_key"]) == (
            rectification_cases.EVIDENCE_MESSAGE,
            rec_id,
        )
        assert "renewed (documents: p.pdf)" in sent["variables"]["evidence_summary"]

        rectification_cases.submit_evidence(
            services, rec_id, submitted_by="am_li", description="and the receipt"
        )
        assert len(engine.correlations) == 1  # with the verifier already: stored, listed
        assert _count(uow, OutboxMessage, OutboxMessage.kind == "message") == 1

    def test_an_undelivered_message_stays_owed_for_the_relay(self, uow) -> None:
        from postloan.application import rectifications as rectification_cases

        engine = FakeEngine()
        services = Services(uow=uow, engine=engine)  # no dispatcher: the relay delivers later
        rec_id = self._item(services, _customer_and_loan(uow))
        rectification_cases.submit_evidence(services, rec_id, submitted_by="am_li", description="x")
        with uow() as session:
            row = session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "message")
            ).one()
            assert (row.business_key, row.status) == (rec_id, "pending")
        OutboxRelay(uow, engine, policy=FAST).deliver_due()
        assert [c["business_key"] for c in engine.correlations] == [rec_id]


class TestDeliverNowBesideTheRelay:
    """A request's ``deliver_now`` races the relay thread for the message it just committed."""

    def _pending(self, uow) -> tuple[str, list[int]]:  # type: ignore[no-untyped-def]
        loan_id = _customer_and_loan(uow)
        services = Services(uow=uow, engine=FakeEngine())  # no dispatcher: left owed
        inspection = inspection_cases.start_special_inspection(
            services, loan_id=loan_id, reason="t", actor="tests"
        )
        with uow() as session:
            ids = list(session.scalars(select(OutboxMessage.id)))
        return inspection.id, ids

    def _relay_claims_first(self, uow, engine):  # type: ignore[no-untyped-def]
        """The relay thread claims the message and is slow delivering it (engine held)."""
        engine.lock.acquire()
        relay = OutboxRelay(uow, engine)
        thread = threading.Thread(target=relay.deliver_due)
        thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until its claim is committed
            with uow() as session:
                if session.scalar(select(OutboxMessage.lease_owner)) == relay.owner:
                    return thread
            time.sleep(0.01)
        raise AssertionError("the relay thread never claimed the message")

    def _pid(self, uow, inspection_id: str) -> str | None:  # type: ignore[no-untyped-def]
        with uow() as session:
            return session.get(Inspection, inspection_id).process_instance_id

    def test_waits_for_the_relay_that_claimed_it_and_reads_what_it_left(self, uow) -> None:
        inspection_id, ids = self._pending(uow)
        engine = FakeEngine()
        thread = self._relay_claims_first(uow, engine)
        try:
            with uow() as session:  # the relay thread holds the lease now
                assert outbox.leased_elsewhere(session, ids, "request") == ids
            threading.Timer(0.3, engine.lock.release).start()
            OutboxRelay(uow, engine, owner="request", settle_seconds=10).deliver_now(ids)
            # settled by the relay thread before deliver_now returned: the id is there
            assert self._pid(uow, inspection_id) == "pi-1"
        finally:
            thread.join(10)
        assert engine.calls == 1  # delivered once, by the relay that claimed it

    def test_gives_up_waiting_after_settle_seconds_and_the_relay_still_delivers(self, uow) -> None:
        inspection_id, ids = self._pending(uow)
        engine = FakeEngine()
        thread = self._relay_claims_first(uow, engine)
        try:
            OutboxRelay(uow, engine, owner="request", settle_seconds=0.2).deliver_now(ids)
            assert self._pid(uow, inspection_id) is None  # still owed, being delivered
        finally:
            engine.lock.release()
            thread.join(10)
        assert self._pid(uow, inspection_id) == "pi-1" and engine.calls == 1
