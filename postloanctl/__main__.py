"""``python -m postloanctl``: run, provision and look after the post-loan system.

up          start everything on the embedded default and print where to log in
down        stop a system started with ``up`` (also in the background)
migrate     bring the database schema up to date
provision   create identities, authorizations, filters in the engine and deploy bpmn/
setup       migrate, then provision (what a deployment runs before api and workers start)
demo        load the demo portfolio and demo API keys
api-key     issue an API key (printed once)
import      bulk import a CSV / JSON lines file (validated first, all or nothing)
generate    write a realistic demo portfolio as import files
scan        nightly five-category classification of the whole portfolio
remind      the reminder scan now (the timer process reminder_scan runs it daily)
audit       verify the hash-chained audit trail and the stored reports
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import requests
import yaml
from alembic import command
from alembic.config import Config

from config.logging import setup_logging
from config.settings import ROOT, Settings, get_settings
from gateway.engine import EngineGateway
from gateway.provision import provision
from postloan.access import service as access
from postloan.db import get_engine, unit_of_work
from postloanctl import assess_cmd, audit_cmd, compensation_cmd, demo, ingest, outbox_cmd
from postloanctl.engine_process import EngineProcess, engine_answers
from postloanctl.supervisor import Backoff, Supervisor

log = logging.getLogger("postloanctl")


def migrate(settings: Settings) -> None:
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = settings.database_url
    config.attributes["configure_logger"] = False
    _forget_merged_branch(settings.database_url)
    command.upgrade(config, "head")
    log.info("database schema up to date (%s)", _safe_url(settings.database_url))


def _forget_merged_branch(database_url: str) -> None:
    """0006 and 0007 once both revised 0003; the history is linear now (0007 revises 0006).

    A database migrated before holds both in ``alembic_version``; 0006 is then an ancestor of
    0007 and must go, or Alembic refuses the overlap.
    """
    from sqlalchemy import inspect, text

    engine = get_engine(database_url)
    with engine.begin() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return
        rows = {r[0] for r in connection.execute(text("SELECT version_num FROM alembic_version"))}
        if {"0006", "0007"} <= rows:
            connection.execute(text("DELETE FROM alembic_version WHERE version_num = '0006'"))


def load_demo(settings: Settings, start_inspections: bool = True) -> None:
    """Demo keys and portfolio, classified by the nightly scan; with ``start_inspections`` the
    demo inbox's scene loans, overdue rectification and inspections (``postloanctl/demo.py``).
    Idempotent: what exists already is left alone."""
    if settings.env == "production":
        raise SystemExit("refusing to load demo data with POSTLOAN_ENV=production")
    with unit_of_work(settings.database_url) as session:
        keys = demo.install_api_keys(session)
        loans = demo.load_portfolio(session)
    log.info("demo portfolio: %d loans created, %d API keys installed", loans, len(keys))
    if loans:
        # Imported loans are classified the way the nightly scan does it for the whole book
        # (without a special inspection for every late loan of the made-up history).
        # A first load's loans were non-performing before the system knew them: no
        # due-diligence review for them (one opens when a loan turns non-performing later).
        run_scan(
            settings, date.today(), chunk=500, signals=True, specials=False, open_reviews=False
        )
    if not start_inspections:
        return
    api = EngineGateway(
        settings.engine_url,
        settings.engine_api_user,
        settings.engine_api_password.get_secret_value(),
        settings.engine_timeout_seconds,
    )
    demo.seed(lambda: unit_of_work(settings.database_url), api)


def _safe_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def _banner(settings: Settings) -> str:
    spec = yaml.safe_load(settings.identities_file.read_text(encoding="utf-8"))
    people = "\n".join(
        f"    {u['id']:<12} {u['password']:<18} {', '.join(u['groups'])}"
        for u in spec.get("demo_users", [])
    )
    keys = "\n".join(f"    {role:<11} {key}" for role, key in demo.DEMO_API_KEYS.values())
    api = f"http://{settings.api_host}:{settings.api_port}"
    return f"""
======================================================================
 Post-loan management is running.

 Tasklist (log in as a demo user):  {settings.webapp_url}
 Cockpit / Admin (engine admin):     {settings.webapp_url.replace("tasklist", "cockpit")}
    admin user: {settings.engine_admin_user} / {settings.engine_admin_password.get_secret_value()}
 REST API and its docs:              {api}/docs   (health: {api}/api/v1/health)
 Dashboards (log in as a demo user): {api}/pages/dashboards/

 Demo users (user / password / groups):
{people}

 Demo API keys (Authorization: Bearer <key>):
{keys}

 Logs: {settings.data_dir / "logs"}      Stop: Ctrl+C, or `python -m postloanctl down`
======================================================================
""".rstrip()


def up(settings: Settings) -> int:
    """Start engine, workers and API on the embedded default; supervise until stopped.

    A component that dies is restarted with backoff (see ``postloanctl/supervisor.py``); the
    others keep serving. State for operators: ``<data dir>/postloan.status.json``.
    """
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    pid_file = settings.data_dir / "postloan.pid"
    pid_file.write_text(str(os.getpid()))
    status_file = settings.data_dir / "postloan.status.json"
    supervisor = Supervisor(
        Backoff(
            settings.restart_backoff_initial_seconds,
            settings.restart_backoff_max_seconds,
            settings.restart_backoff_reset_seconds,
        ),
        status_file=status_file,
    )

    def on_signal(signum: int, _frame: object) -> None:
        supervisor.request_stop()
        log.info("received %s: stopping", signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        migrate(settings)
        if engine_answers(settings.engine_url):
            log.info("using the engine already running at %s", settings.engine_url)
        else:
            port = urlparse(settings.engine_url).port or 8080
            log.info("starting the engine on port %d (log: %s)", port, logs / "engine.log")
            engine = EngineProcess(port, settings.data_dir / "engine", logs / "engine.log")
            engine.start(timeout=600)  # a loaded 2-core machine: 3-4 minutes seen
            assert engine.process is not None  # start() launched it
            # Restarted without waiting, so a slow engine start never holds up the others.
            supervisor.adopt(
                "engine",
                engine.process,
                engine.launch,
                logs / "engine.log",
                grace=30,
                stop_last=True,
            )
        if supervisor.stopping:  # Ctrl+C while the engine was starting
            return 0
        provision(settings)
        load_demo(settings)
        commands = {
            "workers": [sys.executable, "-m", "workers"],
            "api": [
                sys.executable,
                "-m",
                "uvicorn",
                "api.main:app",
                "--host",
                settings.api_host,
                "--port",
                str(settings.api_port),
                "--no-access-log",
            ],
        }
        for name, argv in commands.items():
            if supervisor.stopping:
                break
            supervisor.add(
                name,
                _spawner(argv, logs / f"{name}.log"),
                logs / f"{name}.log",
                grace=settings.worker_shutdown_grace_seconds + 15,
            )
        if not supervisor.stopping:
            _wait_for_api(settings, supervisor)
            if settings.env != "production":
                demo.act_out(settings)
            print(_banner(settings), flush=True)
        supervisor.run()
        return 0
    finally:
        supervisor.stop()
        status_file.unlink(missing_ok=True)
        pid_file.unlink(missing_ok=True)
        log.info("stopped")


def _spawner(argv: list[str], log_file: Path) -> Callable[[], subprocess.Popen[bytes]]:
    """Start ``argv`` from the repository root, appending its output to ``log_file``."""

    def spawn() -> subprocess.Popen[bytes]:
        with log_file.open("ab") as handle:
            return subprocess.Popen(
                argv,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(ROOT),
            )

    return spawn


def _wait_for_api(settings: Settings, supervisor: Supervisor, timeout: float = 60) -> None:
    """Wait for the API's health (supervising meanwhile); its first start failing is fatal."""
    url = f"http://{settings.api_host}:{settings.api_port}/api/v1/health"
    first = supervisor.process("api")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not supervisor.stopping:
        if first is not None and first.poll() is not None:
            raise SystemExit(
                f"the API exited with code {first.returncode}; see "
                f"{settings.data_dir / 'logs' / 'api.log'}"
            )
        supervisor.poll()
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    if not supervisor.stopping:
        raise SystemExit(f"the API did not become healthy at {url}")


def down(settings: Settings) -> int:
    pid_file = settings.data_dir / "postloan.pid"
    if not pid_file.exists():
        print("not running (no pid file)")
        return 0
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        print("not running (stale pid file removed)")
        return 0
    for _ in range(120):
        if not pid_file.exists():
            print("stopped")
            return 0
        time.sleep(0.5)
    print(f"still stopping (pid {pid})")
    return 1


def run_remind(settings: Settings, as_of: date) -> int:
    """The daily reminder scan by hand (instalments due soon, lapses ahead); what it owes
    (notices, webhooks, lapse_prevention starts) the workers' outbox relay delivers. A rerun
    creates nothing twice."""
    from postloan.application import reminders as reminder_cases
    from postloan.application.ports import database_unit
    from postloan.application.services import Services

    services = Services(uow=database_unit(settings.database_url), engine=None)
    result = reminder_cases.run_full_scan(
        services, as_of, actor="postloanctl", webhook_url=settings.reminder_webhook_url
    )
    print(
        f"reminders as of {as_of.isoformat()}: {result.instalment_reminders} instalment "
        f"reminder(s), {result.lapse_tasks} lapse task(s) owed"
    )
    return 0


def run_scan(
    settings: Settings,
    as_of: date,
    chunk: int,
    signals: bool,
    specials: bool = True,
    open_reviews: bool = True,
) -> int:
    """The nightly classification scan with the table the engine has deployed; new serious
    signals start special inspections unless ``specials`` is off, and loans that turn
    non-performing get a due-diligence review unless ``open_reviews`` is off."""
    from gateway.classification import deployed_table
    from postloan.classification.scan import scan
    from postloan.db import get_engine

    engine = EngineGateway(
        settings.engine_url,
        settings.engine_api_user,
        settings.engine_api_password.get_secret_value(),
        settings.engine_timeout_seconds,
    )
    result = scan(
        get_engine(settings.database_url),
        deployed_table(engine),
        as_of,
        chunk_customers=chunk,
        raise_signals=signals,
        open_reviews=open_reviews,
    )
    print(
        f"{result.loans} loans, {result.repayment_rows} repayment rows, {result.changes} "
        f"changes ({result.upgrades} up, {result.downgrades} down, {result.contagion} "
        f"contagion), {result.signals} signals in {result.seconds:.1f}s"
    )
    if not specials:
        return 0
    started = start_specials_for_signals(settings, engine, result.serious_new_signals)
    if result.serious_new_signals:
        print(
            f"{len(result.serious_new_signals)} new serious signals: {started} special "
            f"inspections started"
        )
    return 0


def start_specials_for_signals(
    settings: Settings,
    engine: EngineGateway,
    serious: list[tuple[str, int]],
) -> int:
    """A special inspection for every loan a new serious signal names (one open per loan)."""
    from gateway.processes import start_special_inspection
    from postloan.errors import DomainError

    started = 0
    for loan_id, signal_id in serious:
        with unit_of_work(settings.database_url) as session:
            try:
                inspection = start_special_inspection(
                    session,
                    engine,
                    loan_id,
                    f"Serious early-warning signal {signal_id} (nightly scan)",
                    f"signal:{signal_id}",
                    "system:nightly-scan",
                )
            except DomainError as exc:
                log.error("special inspection for signal %s not started: %s", signal_id, exc.detail)
                continue
            started += inspection is not None
    return started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m postloanctl",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start everything (embedded default) and print where to log in")
    sub.add_parser("down", help="stop a running `up`")
    sub.add_parser("migrate", help="bring the database schema up to date")
    prov = sub.add_parser("provision", help="identities, filters and deployment into the engine")
    prov.add_argument("--no-deploy", action="store_true", help="identities only")
    sub.add_parser("setup", help="migrate the database, then provision the engine")
    demo_cmd = sub.add_parser("demo", help="load demo portfolio and demo API keys")
    demo_cmd.add_argument("--no-inspections", action="store_true")
    scan_cmd = sub.add_parser("scan", help="nightly five-category classification of the portfolio")
    scan_cmd.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="classification date (default: today)",
    )
    scan_cmd.add_argument("--chunk", type=int, default=500, help="customers per batch")
    scan_cmd.add_argument(
        "--no-signals", action="store_true", help="do not raise repayment signals"
    )
    remind_cmd = sub.add_parser("remind", help="the reminder scan now (instalments, lapses)")
    remind_cmd.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="scan date (default: today)"
    )
    key = sub.add_parser("api-key", help="issue an API key (shown once)")
    key.add_argument("--name", required=True)
    key.add_argument(
        "--role", required=True, help="integrator, vendor:<vendor id>, auditor, viewer or admin"
    )
    ingest.add_commands(sub)
    audit_cmd.add_commands(sub)
    outbox_cmd.add_commands(sub)
    assess_cmd.add_commands(sub)
    compensation_cmd.add_commands(sub)
    args = parser.parse_args(argv)

    setup_logging()
    settings = get_settings()
    if args.command == "up":
        return up(settings)
    if args.command == "down":
        return down(settings)
    if args.command in ingest.COMMANDS:
        return ingest.run(args, settings)
    if args.command in audit_cmd.COMMANDS:
        return audit_cmd.run(args, settings)
    if args.command in outbox_cmd.COMMANDS:
        return outbox_cmd.run(args, settings)
    if args.command in assess_cmd.COMMANDS:
        return assess_cmd.run(args, settings)
    if args.command in compensation_cmd.COMMANDS:
        return compensation_cmd.run(args, settings)
    if args.command == "migrate":
        migrate(settings)
    elif args.command == "setup":
        migrate(settings)
        provision(settings)
    elif args.command == "provision":
        provision(settings, deploy=not args.no_deploy)
    elif args.command == "demo":
        load_demo(settings, start_inspections=not args.no_inspections)
    elif args.command == "scan":
        return run_scan(settings, args.as_of or date.today(), args.chunk, not args.no_signals)
    elif args.command == "remind":
        return run_remind(settings, args.as_of or date.today())
    elif args.command == "api-key":
        with unit_of_work(settings.database_url) as session:
            print(access.issue(session, name=args.name, role=args.role, actor="postloanctl"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
