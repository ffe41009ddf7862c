"""A whole system of separate processes for the resilience and cluster tests, on loopback only.

``Stack`` owns what it starts: engine node(s) (the real jar, H2 file or PostgreSQL), worker
processes (``python -m workers``), the API (``uvicorn api.main:app``), and optionally a private
PostgreSQL cluster. Every process runs in its own session and is killed with its group by
``close()``, whatever happened. Tests talk to it as the outside world does: the API over HTTP,
the engine's REST API as the demo people, the project database read with plain SQL.

Counts are of business rows and process instances (inspections, findings, signals, reports,
rectifications, restrictions, audit events, outbox deliveries by kind and state; historic process
instances per business key), not of
how they got there, so they hold with or without a transactional outbox in front of process starts.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from pgcluster import PostgresCluster, engine_env
from sqlalchemy import bindparam, text

from gateway.variables import from_engine_all, to_engine
from postloanctl.engine_process import EngineProcess

ROOT = Path(__file__).resolve().parents[2]
ADMIN = ("admin", "admin-dev-only")
PASSWORDS = {
    "am_li": "demo-am-li",
    "po_chen": "demo-po-chen",
    "po_wang": "demo-po-wang",
    "cm_liu": "demo-cm-liu",
    "ca_zhao": "demo-ca-zhao",
}
WEBHOOK_SECRET = "resilience-webhook-secret"
INSPECTION = "post_loan_inspection"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    what: str,
    predicate: Callable[[], Any],
    timeout: float,
    interval: float = 0.25,
    alive: Callable[[], None] | None = None,
) -> Any:
    """Poll until ``predicate`` is truthy; ``alive`` may raise when a needed process died."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if alive:
            alive()
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} missing)"


def api_args(port: int) -> list[str]:
    """The interpreter's arguments that serve the API as the product runs it (uvicorn, one worker)
    on loopback ``port``; also used by benchmarks/."""
    return [
        "-m",
        "uvicorn",
        "api.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def register_loan(
    session: Any,
    customer_id: str,
    loan_id: str,
    *,
    name: str,
    branch: str,
    product: str,
    disbursed_on: date,
    maturity_on: date,
    instalments: Iterable[tuple[date, bool]],
    actor: str,
    account_manager: str = "am_li",
) -> None:
    """A micro retail customer with one loan of 100,000 CNY and its instalments of 9,000 (due
    date, paid on the day or not at all), written with the domain services (no process is
    started); also used by benchmarks/."""
    from postloan.customers import service as customers
    from postloan.loans import service as loans

    customers.register(
        session,
        customers.CustomerData(
            id=customer_id,
            name=name,
            segment="micro",
            industry="retail",
            branch=branch,
            account_manager=account_manager,
            credit_rating="BBB",
        ),
        actor=actor,
    )
    loans.register(
        session,
        loans.LoanData(
            id=loan_id,
            customer_id=customer_id,
            product=product,
            amount=Decimal("100000"),
            currency="CNY",
            disbursed_on=disbursed_on,
            maturity_on=maturity_on,
            purpose="stock",
        ),
        actor=actor,
    )
    for due, paid in instalments:
        loans.record_repayment(
            session,
            loan_id,
            loans.RepaymentData(
                due_on=due,
                due_amount=Decimal("9000"),
                paid_on=due if paid else None,
                paid_amount=Decimal("9000") if paid else Decimal("0"),
            ),
            actor=actor,
        )


def write_topics(path: Path, lock_ms: int, retries: int = 3, backoff_ms: int = 500) -> Path:
    """``config/topics.yaml`` with every topic's lock shortened (a killed worker's tasks come back
    after ``lock_ms``) and quick retries."""
    import yaml

    raw = yaml.safe_load((ROOT / "config" / "topics.yaml").read_text(encoding="utf-8"))
    short = {
        "lock_ms": lock_ms,
        "retries": retries,
        "backoff_ms": backoff_ms,
        "max_backoff_ms": backoff_ms * 4,
    }
    raw["default"] = {**raw["default"], **short}
    raw["topics"] = {name: {**(values or {}), **short} for name, values in raw["topics"].items()}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


class Rest:
    """The engine's REST API as one user (basic auth)."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url, self.http = url, requests.Session()
        self.http.auth = (user, password)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        r = self.http.request(method, self.url + path, timeout=30, **kwargs)
        if r.status_code >= 400:
            raise AssertionError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r.json() if r.content else None

    def count(self, path: str, **params: Any) -> int:
        return int(self.call("GET", path + "/count", params=params)["count"])

    def submit(self, task_id: str, variables: dict[str, Any]) -> None:
        self.call(
            "POST",
            f"/task/{task_id}/submit-form",
            json={"variables": {k: to_engine(v) for k, v in variables.items()}},
        )


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole process group (no clean shutdown, locks stay held)."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(timeout=30)


@dataclass
class Node:
    """One engine node."""

    name: str
    process: EngineProcess
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.process.url

    def kill(self) -> None:
        p = self.process.process
        if p is not None and p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)


@dataclass
class Stack:
    tmp: Path
    project_db: str = "sqlite"  # or "postgres" (on this stack's own cluster)
    engine_db: str = "h2"  # or "postgres"
    lock_ms: int = 5000
    retries: int = 3
    backoff_ms: int = 500
    # The outbox relay's lease (s): a message a killed relay had claimed is delivered again by
    # another once it expires. Unset: the settings' default (30 s).
    outbox_lease_s: float | None = None
    cluster: PostgresCluster | None = None
    engine_cluster: PostgresCluster | None = None
    nodes: list[Node] = field(default_factory=list)
    procs: list[Proc] = field(default_factory=list)
    database_url: str = ""
    api_url: str = ""
    api_keys: dict[str, str] = field(default_factory=dict)
    topics: Path | None = None
    webhook_url: str = ""  # the origination system's endpoint the workers' relay pushes to

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        try:
            self.topics = write_topics(
                self.tmp / "topics.yaml", self.lock_ms, self.retries, self.backoff_ms
            )
            if self.project_db == "postgres":
                self.cluster = PostgresCluster().start()
                self.database_url = self.cluster.create_database("postloan")
            else:
                self.database_url = f"sqlite:///{self.tmp / 'postloan.db'}"
            self.run_ctl("migrate")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.kill()
        for node in self.nodes:
            node.kill()
        from postloan.db import get_engine

        if self.database_url:
            get_engine(self.database_url).dispose()
        for cluster in (self.cluster, self.engine_cluster):
            if cluster is not None:
                cluster.destroy()

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTLOAN_")}
        env.update(
            {
                "POSTLOAN_ENV": "test",
                "POSTLOAN_DATA_DIR": str(self.tmp / "data"),
                "POSTLOAN_DATABASE_URL": self.database_url,
                "POSTLOAN_ENGINE_URL": self.nodes[0].url if self.nodes else "http://127.0.0.1:9/x",
                "POSTLOAN_WORKER_TOPICS_FILE": str(self.topics),
                "POSTLOAN_WORKER_LONG_POLL_MS": "2000",
                "POSTLOAN_WORKER_SHUTDOWN_GRACE_SECONDS": "2",
                "POSTLOAN_ENGINE_TIMEOUT_SECONDS": "10",
                "POSTLOAN_ORIGINATION_WEBHOOK_URL": self.webhook_url,
                "POSTLOAN_ORIGINATION_WEBHOOK_SECRET": WEBHOOK_SECRET,
                **(
                    {"POSTLOAN_OUTBOX_LEASE_SECONDS": str(self.outbox_lease_s)}
                    if self.outbox_lease_s is not None
                    else {}
                ),
                **extra,
            }
        )
        return env

    def run_ctl(self, *args: str, engine_url: str | None = None) -> None:
        extra = {"POSTLOAN_ENGINE_URL": engine_url} if engine_url else {}
        done = subprocess.run(
            [sys.executable, "-m", "postloanctl", *args],
            cwd=ROOT,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"postloanctl {' '.join(args)}: {done.stdout}{done.stderr}"

    def add_node(self, name: str = "node-1") -> Node:
        """An engine node. On PostgreSQL every node of the stack shares one database."""
        env = {
            "JOB_MAX_WAIT_MS": "1000",
            "DB_POOL_SIZE": "10",
            # per-node host name: the job log and metrics say which node ran what
            "SPRING_APPLICATION_JSON": json.dumps(
                {"camunda.bpm.generic-properties.properties.hostname": name}
            ),
        }
        if self.engine_db == "postgres":
            if self.engine_cluster is None:
                self.engine_cluster = PostgresCluster().start()
                self.engine_cluster.create_database("engine")
            env.update(engine_env(self.engine_cluster.url, "engine"))
        process = EngineProcess(free_port(), self.tmp / name, self.tmp / f"{name}.log", env=env)
        node = Node(name, process, env)
        self.nodes.append(node)
        process.start(timeout=240)
        return node

    def restart_node(self, node: Node) -> None:
        """Kill the node (SIGKILL) and start it again on the same port and database."""
        node.kill()
        node.process.start(timeout=240)

    def provision(self, node: Node | None = None) -> None:
        self.run_ctl("provision", engine_url=(node or self.nodes[0]).url)

    def spawn(self, name: str, args: list[str], **env: str) -> Proc:
        log = self.tmp / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                env=self.env(**env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def worker(self, name: str, node: Node | None = None) -> Proc:
        return self.spawn(
            name,
            ["-m", "workers"],
            POSTLOAN_WORKER_ID=name,
            POSTLOAN_ENGINE_URL=(node or self.nodes[0]).url,
        )

    def start_api(self, node: Node | None = None) -> Proc:
        port = free_port()
        proc = self.spawn("api", api_args(port), POSTLOAN_ENGINE_URL=(node or self.nodes[0]).url)
        self.api_url = f"http://127.0.0.1:{port}/api/v1"
        if not self.api_keys:
            from postloan.access import service as access
            from postloan.db import unit_of_work

            with unit_of_work(self.database_url) as session:
                for role in ("integrator", "auditor"):
                    self.api_keys[role] = access.issue(
                        session,
                        name=f"resilience-{role}-{uuid.uuid4().hex[:6]}",
                        role=role,
                        actor="tests",
                    )

        def up() -> bool:
            try:
                return requests.get(self.api_url + "/health", timeout=5).status_code < 500
            except requests.RequestException:
                return False

        wait_for("the API to answer", up, 60, alive=lambda: self.check_alive(proc))
        return proc

    def check_alive(self, *procs: Proc) -> None:
        for proc in procs:
            if not proc.alive():
                pytest.fail(f"{proc.name} exited ({proc.popen.returncode}):\n{tail(proc.log)}")

    def api(
        self, method: str, path: str, role: str = "integrator", timeout: float = 60, **kwargs: Any
    ) -> requests.Response:
        return requests.request(
            method,
            self.api_url + path,
            timeout=timeout,
            headers={"Authorization": f"Bearer {self.api_keys[role]}"},
            **kwargs,
        )

    def admin(self, node: Node | None = None) -> Rest:
        return Rest((node or self.nodes[0]).url, *ADMIN)

    def as_user(self, user: str, node: Node | None = None) -> Rest:
        return Rest((node or self.nodes[0]).url, user, PASSWORDS[user])

    # -- business data ----------------------------------------------------------------------

    def seed_loans(self, count: int, prefix: str) -> list[str]:
        """Identical healthy loans (all instalments paid) of ``am_li``'s customers, written with
        the domain services (no process is started by seeding)."""
        from postloan.db import unit_of_work

        today, ids = date.today(), []
        with unit_of_work(self.database_url) as session:
            for n in range(count):
                cid, lid = f"C-{prefix}-{n:03d}", f"L-{prefix}-{n:03d}"
                register_loan(
                    session,
                    cid,
                    lid,
                    name=f"Resilience {prefix} {n}",
                    branch="BR-SH-01",
                    product="MICRO-OPERATING",
                    disbursed_on=today - timedelta(days=200),
                    maturity_on=today + timedelta(days=500),
                    instalments=[(today - timedelta(days=30 * (6 - k)), True) for k in range(6)],
                    actor="tests",
                )
                ids.append(lid)
        return ids

    def start_inspections(self, loan_ids: Iterable[str]) -> dict[str, str]:
        """A routine inspection of each loan through ``POST /api/v1/inspections``:
        inspection id -> loan id."""
        out = {}
        for loan_id in loan_ids:
            r = self.api(
                "POST",
                "/inspections",
                json={"loan_id": loan_id, "kind": "routine", "reason": "resilience campaign"},
            )
            assert r.status_code == 201, r.text
            out[r.json()["id"]] = loan_id
        return out

    def raise_rectifications(self, loan_ids: Iterable[str]) -> dict[str, str]:
        out = {}
        for loan_id in loan_ids:
            customer_id = "C-" + loan_id.removeprefix("L-")
            r = self.api(
                "POST",
                "/rectifications",
                role="auditor",
                json={
                    "customer_id": customer_id,
                    "loan_id": loan_id,
                    "title": "Missing invoices",
                    "description": "Supplier invoices for the drawdown are missing.",
                    "severity": "serious",
                    "owner": "am_li",
                    "source": "audit",
                },
            )
            assert r.status_code == 201, r.text
            out[r.json()["id"]] = loan_id
        return out

    def apply_for_credit(self, loan_ids: Iterable[str]) -> dict[str, str]:
        """A credit application of each loan's customer (``POST /api/v1/credit-applications``):
        application id -> loan id. The seeded customers are healthy: the gate clears them and
        an approver decides (task approve_credit)."""
        out = {}
        for loan_id in loan_ids:
            r = self.api(
                "POST",
                "/credit-applications",
                json={
                    "customer_id": "C-" + loan_id.removeprefix("L-"),
                    "product": "MICRO-OPERATING",
                    "amount": "200000.00",
                },
            )
            assert r.status_code == 201, r.text
            out[r.json()["id"]] = loan_id
        return out

    def approve_credits(self, applications: Iterable[str]) -> int:
        """Decide every open approve_credit task of these applications as ``ca_zhao`` would in
        Tasklist; returns how many were decided."""
        done, wanted = 0, set(applications)
        ca_zhao = self.as_user("ca_zhao")
        for task in self.admin().call(
            "GET", "/task", params={"taskDefinitionKey": "approve_credit", "maxResults": 1000}
        ):
            if self._key_of(task) not in wanted:
                continue
            if task.get("assignee") != "ca_zhao":
                ca_zhao.call("POST", f"/task/{task['id']}/claim", json={"userId": "ca_zhao"})
            ca_zhao.submit(
                task["id"],
                {
                    "credit_decision": "approve",
                    "credit_comment": "Post-loan record is clean.",
                    "post_loan_quality": "good",
                },
            )
            done += 1
        return done

    def credit_profiles(
        self, applications: Iterable[str], origination: Origination
    ) -> dict[str, dict[str, int]]:
        """Per application: its status, its webhook bookkeeping and outbox deliveries, and what
        the origination system accepted -- distinct event ids (a second event id for one decision
        is a duplicate the receiver cannot recognise; the same id again is a redelivery it
        dedupes, counted apart by :meth:`Origination.redeliveries`)."""
        ids = list(applications)
        prof: dict[str, Counter[str]] = {i: Counter() for i in ids}
        for aid, status in self.sql(
            "SELECT id, status FROM credit_application WHERE id IN :ids", ids=ids
        ):
            prof[aid][f"application {status}"] += 1
        for aid, delivered in self.sql(
            "SELECT application_id, delivered_at IS NOT NULL FROM webhook_delivery "
            "WHERE application_id IN :ids",
            ids=ids,
        ):
            prof[aid][f"webhook row {'delivered' if delivered else 'pending'}"] += 1
        for object_type, object_id, action, n in self.sql(
            "SELECT object_type, object_id, action, count(*) FROM audit_event "
            "WHERE object_id IN :ids GROUP BY object_type, object_id, action",
            ids=ids,
        ):
            prof[object_id][f"audit {object_type} {action}"] += n
        self._count_outbox(prof)
        for aid in ids:
            prof[aid]["pushed (distinct event ids accepted)"] += len(origination.accepted_ids(aid))
        return {i: dict(c) for i, c in prof.items()}

    # -- the engine side --------------------------------------------------------------------

    def instances(self, keys: Iterable[str], node: Node | None = None) -> Counter[str]:
        """Historic top-level process instances per business key (any process, any state).

        A called process (the rectification's evidence or escalation task runs in one) shares
        its caller's business key; it is part of that instance, not a second start."""
        admin, found = self.admin(node), Counter()
        for key in keys:
            for row in admin.call(
                "GET", "/history/process-instance", params={"processInstanceBusinessKey": key}
            ):
                if row.get("superProcessInstanceId"):
                    continue
                found[key] += 1 if row["state"] != "INTERNALLY_TERMINATED" else 0
        return found

    def drive_human_tasks(
        self,
        keys: set[str],
        node_for: Callable[[int], Node] | None = None,
    ) -> int:
        """Complete every open human task of these inspections as the people would (the
        account manager performs, a post-loan officer approves, ...). Returns how many."""
        done = 0
        tasks = self.admin().call(
            "GET", "/task", params={"processDefinitionKey": INSPECTION, "maxResults": 1000}
        )
        for n, task in enumerate(t for t in tasks if self._key_of(t) in keys):
            node = node_for(n) if node_for else None
            if complete_inspection_task(self, task, node):
                done += 1
        return done

    def _key_of(self, task: dict[str, Any]) -> str | None:
        pid = task["processInstanceId"]
        if pid not in self._keys:
            row = self.admin().call("GET", f"/process-instance/{pid}")
            self._keys[pid] = row.get("businessKey")
        return self._keys[pid]

    _keys: dict[str, str | None] = field(default_factory=dict)

    # -- the project database ---------------------------------------------------------------

    def sql(self, query: str, **params: Any) -> list[Any]:
        from postloan.db import get_engine

        statement = text(query)
        for name, value in params.items():
            if isinstance(value, list | tuple | set):
                statement = statement.bindparams(bindparam(name, expanding=True))
                params[name] = list(value)
        with get_engine(self.database_url).connect() as conn:
            return list(conn.execute(statement, params))

    def inspection_profiles(self, inspections: dict[str, str]) -> dict[str, dict[str, int]]:
        """Per inspection: its rows and side effects, counted in the project database."""
        ids, loans = list(inspections), list(inspections.values())
        prof: dict[str, Counter[str]] = {i: Counter() for i in ids}
        loan_to = {loan: ins for ins, loan in inspections.items()}
        for loan, kind, status, report in self.sql(
            "SELECT loan_id, kind, status, report FROM inspection WHERE loan_id IN :loans",
            loans=loans,
        ):
            prof[loan_to[loan]][f"inspection {kind} {status}"] += 1
            prof[loan_to[loan]]["report"] += int(bool(report))
        for ins, source, n in self.sql(
            "SELECT inspection_id, source, count(*) FROM inspection_finding "
            "WHERE inspection_id IN :ids GROUP BY inspection_id, source",
            ids=ids,
        ):
            prof[ins][f"finding {source}"] += n
        signal_of: dict[str, str] = {}
        for sid, loan, code, occurrences in self.sql(
            "SELECT id, loan_id, code, occurrences FROM risk_signal WHERE loan_id IN :loans",
            loans=loans,
        ):
            prof[loan_to[loan]][f"signal {code}"] += 1
            prof[loan_to[loan]][f"signal {code} occurrences"] += occurrences
            signal_of[str(sid)] = loan_to[loan]
        owners = {**{i: i for i in ids}, **{lo: loan_to[lo] for lo in loans}}
        for object_type, object_id, action, n in self.sql(
            "SELECT object_type, object_id, action, count(*) FROM audit_event "
            "WHERE object_id IN :objects GROUP BY object_type, object_id, action",
            objects=[*owners, *signal_of],
        ):
            if object_id in owners:
                owner = owners[object_id]
            elif "signal" in object_type:  # numeric ids: only the signals' own events
                owner = signal_of[object_id]
            else:
                continue
            prof[owner][f"audit {object_type} {action}"] += n
        self._count_outbox(prof)
        return {i: dict(c) for i, c in prof.items()}

    def outbox_pending(self, keys: Iterable[str]) -> int:
        """How many outbox messages of ``keys`` are still pending."""
        [(pending,)] = self.sql(
            "SELECT count(*) FROM outbox_message WHERE business_key IN :keys AND status = 'pending'",
            keys=list(keys),
        )
        return int(pending)

    def _count_outbox(self, prof: dict[str, Counter[str]]) -> None:
        """What each object owed the engine and the outside world (process starts, messages,
        notices, webhooks), by kind and delivery state: a side effect owed twice, or never
        delivered, shows here."""
        for key, kind, status, n in self.sql(
            "SELECT business_key, kind, status, count(*) FROM outbox_message "
            "WHERE business_key IN :keys GROUP BY business_key, kind, status",
            keys=list(prof),
        ):
            prof[key][f"outbox {kind} {status}"] += n

    def rectification_profiles(self, rectifications: dict[str, str]) -> dict[str, dict[str, int]]:
        ids = list(rectifications)
        prof: dict[str, Counter[str]] = {i: Counter() for i in ids}
        for rid, status in self.sql(
            "SELECT id, status FROM rectification WHERE id IN :ids", ids=ids
        ):
            prof[rid][f"rectification {status}"] += 1
        for rid, kind, status, n in self.sql(
            "SELECT rectification_id, kind, status, count(*) FROM restriction "
            "WHERE rectification_id IN :ids GROUP BY rectification_id, kind, status",
            ids=ids,
        ):
            prof[rid][f"restriction {kind} {status}"] += n
        for object_type, object_id, action, n in self.sql(
            "SELECT object_type, object_id, action, count(*) FROM audit_event "
            "WHERE object_id IN :ids GROUP BY object_type, object_id, action",
            ids=ids,
        ):
            prof[object_id][f"audit {object_type} {action}"] += n
        self._count_outbox(prof)
        return {i: dict(c) for i, c in prof.items()}


class Origination:
    """The origination system, outside ours: a real HTTP server on loopback that verifies each
    push's signature and remembers every request (application, status, event id, answer). It
    answers slowly (``delay``) so that pushes are in flight when a process dies."""

    def __init__(self, delay: float = 0.2) -> None:
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        seen = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                from postloan.credit import webhook

                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                valid = webhook.verify(
                    raw, WEBHOOK_SECRET, self.headers.get(webhook.SIGNATURE_HEADER, "")
                )
                time.sleep(seen.delay)
                data = json.loads(raw)
                with seen.lock:
                    seen.requests.append(
                        {
                            "application_id": data.get("application_id"),
                            "status": data.get("status"),
                            "event_id": self.headers.get(webhook.EVENT_HEADER, ""),
                            "valid": valid,
                        }
                    )
                self.send_response(200 if valid else 401)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/credit"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Origination:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted_ids(self, application_id: str) -> set[str]:
        with self.lock:
            return {
                r["event_id"]
                for r in self.requests
                if r["application_id"] == application_id and r["valid"]
            }

    def redeliveries(self) -> int:
        """Requests beyond the first of each event id (at-least-once delivery: allowed, and
        recognisable by the receiver through the event id)."""
        with self.lock:
            valid = [r["event_id"] for r in self.requests if r["valid"]]
        return len(valid) - len(set(valid))

    def invalid(self) -> int:
        with self.lock:
            return sum(not r["valid"] for r in self.requests)


def complete_inspection_task(stack: Stack, task: dict[str, Any], node: Node | None) -> bool:
    """One human step of an inspection, as its person would submit the form."""
    key = task["taskDefinitionKey"]
    if key == "perform_inspection":
        am_li = stack.as_user("am_li", node)
        variables = from_engine_all(
            am_li.call(
                "GET", f"/task/{task['id']}/variables", params={"deserializeValues": "false"}
            )
        )
        codes = [i["code"] for i in variables.get("inspection_items") or []]
        am_li.submit(
            task["id"],
            {
                "funds_used_as_agreed": True,
                "business_operating_normally": True,
                "collateral_intact": True,
                "approval_conditions_met": True,
                "inspection_findings": "Visited the shop; stock and books as recorded.",
                "inspection_conclusion": "satisfactory",
                "items_in_order": codes,
                "items_not_applicable": [],
                "item_notes": "",
            },
        )
        return True
    people = {
        "review_inspection": (
            "po_chen",
            {"review_decision": "approve", "review_comment": "Complete"},
        ),
        "onsite_verification": (
            "po_wang",
            {"onsite_result": "confirmed", "onsite_findings": "As recorded"},
        ),
        "confirm_classification": (
            "cm_liu",
            {"classification_decision": "confirm", "classification_note": "Confirmed"},
        ),
    }
    if key not in people:
        return False
    user, form = people[key]
    rest = stack.as_user(user, node)
    if task.get("assignee") != user:
        rest.call("POST", f"/task/{task['id']}/claim", json={"userId": user})
    rest.submit(task["id"], form)
    return True


def compare(
    profiles: dict[str, dict[str, int]], expected: dict[str, int], instances: Counter[str]
) -> dict[str, Any]:
    """Lost and duplicated, against one run's expectation (and one process instance each)."""
    lost = dup = 0
    details = []
    for key, prof in profiles.items():
        for name in set(expected) | set(prof):
            want, got = expected.get(name, 0), prof.get(name, 0)
            if got < want:
                lost += want - got
                details.append(f"{key}: {name} {got} < {want}")
            elif got > want:
                dup += got - want
                details.append(f"{key}: {name} {got} > {want}")
        if instances[key] != 1:
            details.append(f"{key}: {instances[key]} process instances")
            lost += instances[key] == 0
            dup += max(instances[key] - 1, 0)
    return {"lost": lost, "duplicated": dup, "details": details[:30]}


# -- a campaign from start to end ------------------------------------------------------------


def completed_inspections(stack: Stack, ids: Iterable[str]) -> int:
    return int(
        stack.sql(
            "SELECT count(*) FROM inspection WHERE id IN :ids AND status = 'completed'",
            ids=list(ids),
        )[0][0]
    )


def ended_instances(stack: Stack, keys: Iterable[str]) -> int:
    keys = set(keys)
    rows = stack.admin().call(
        "POST",
        "/history/process-instance",
        params={"maxResults": 100000},
        json={"processDefinitionKey": INSPECTION, "completed": True},
    )
    return len({r["businessKey"] for r in rows if r["businessKey"] in keys})


def run_to_end(
    stack: Stack,
    inspections: dict[str, str],
    timeout: float,
    procs: Iterable[Proc] = (),
    node_for: Callable[[int], Node] | None = None,
) -> None:
    """Drive the human steps until every inspection is completed and its process ended."""
    keys, procs = set(inspections), list(procs)

    def finished() -> bool:
        stack.drive_human_tasks(keys, node_for)
        return completed_inspections(stack, keys) == len(keys) and ended_instances(
            stack, keys
        ) == len(keys)

    wait_for(
        f"{len(keys)} inspections to complete",
        finished,
        timeout,
        interval=0.5,
        alive=lambda: stack.check_alive(*procs),
    )


def awaiting_evidence(stack: Stack, rectifications: Iterable[str]) -> int:
    admin = stack.admin()
    return sum(
        admin.count("/task", processInstanceBusinessKey=rid, taskDefinitionKey="awaiting_evidence")
        for rid in rectifications
    )


def open_incidents(stack: Stack) -> list[dict[str, Any]]:
    return list(stack.admin().call("GET", "/incident", params={"maxResults": 1000}))


def external_task_log(stack: Stack, **params: Any) -> list[dict[str, Any]]:
    return list(
        stack.admin().call(
            "GET", "/history/external-task-log", params={"maxResults": 100000, **params}
        )
    )


def reference_run(stack: Stack, procs: Iterable[Proc]) -> dict[str, int]:
    """One inspection with nothing going wrong: what each inspection of a campaign must leave."""
    ref = stack.start_inspections(stack.seed_loans(1, f"ref{uuid.uuid4().hex[:4]}"))
    run_to_end(stack, ref, 120, procs)
    expected = next(iter(stack.inspection_profiles(ref).values()))
    assert expected.get("report") == 1 and expected.get("inspection routine completed") == 1
    return expected
