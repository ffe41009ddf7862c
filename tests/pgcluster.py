"""A throwaway PostgreSQL cluster for tests (importable as ``pgcluster``: tests/ is on the path).

Debian's server binaries (``initdb``, ``pg_ctl``) on a free loopback port, trust authentication,
``fsync=off``, a private socket directory; run as the ``postgres`` user when the tests run as root
(initdb refuses root). Used by the suite's PostgreSQL pass (``POSTLOAN_TEST_DB=postgres`` /
``POSTLOAN_TEST_ENGINE_DB=postgres`` in ``tests/conftest.py``), by ``tests/postgres/`` and by the
resilience tests, which stop and start their own cluster to make the database unavailable.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_binaries() -> Path | None:
    """The newest installed server's bin directory, or None (``apt-get install postgresql``)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


MISSING = (
    "PostgreSQL server binaries missing: run ./scripts/bootstrap --test "
    "(apt-get install postgresql) or set POSTLOAN_TEST_POSTGRES_URL"
)


class PostgresCluster:
    """One private cluster. ``start()`` creates it on first use; ``stop()``/``start()`` again
    keep its data (what a test does to make the database unavailable for a while)."""

    def __init__(self, port: int | None = None) -> None:
        bindir = server_binaries()
        if bindir is None:
            raise RuntimeError(MISSING)
        self.bindir = bindir
        # Its own directory in /tmp: the server user must reach it (a test's tmp_path may be
        # private to root).
        self.root = Path(tempfile.mkdtemp(prefix="postloan-pg-"))
        self.data, self.sockets, self.log = (
            self.root / "data",
            self.root / "sock",
            self.root / "log",
        )
        self.port = port or _free_port()
        self._run_as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
            self._run_as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        """SQLAlchemy base URL without database name, e.g. ``postgresql+psycopg://postgres@h:p/``."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/"

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return _run(
            [*self._run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args], check=check
        )

    def start(self) -> PostgresCluster:
        if not self.data.exists():
            self.sockets.mkdir(exist_ok=True)
            if self._run_as:
                shutil.chown(self.root, "postgres")
                shutil.chown(self.sockets, "postgres")
            _run(
                [
                    *self._run_as,
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ]
            )
        self._pg_ctl(
            "-l",
            str(self.log),
            "-w",
            "-o",
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=200",
            "start",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: as if it crashed). No error when it is not running."""
        if self.data.exists():
            self._pg_ctl("-m", mode, "-w", "stop", check=False)

    def running(self) -> bool:
        return self.data.exists() and self._pg_ctl("status", check=False).returncode == 0

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        return create_database(self.url, name)


def _run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(cmd, capture_output=True, timeout=120)
    if check and done.returncode:
        raise RuntimeError(
            f"{' '.join(cmd)} exited with {done.returncode}: "
            f"{done.stderr.decode(errors='replace')[-2000:]}"
        )
    return done


def create_database(server: str, name: str) -> str:
    """A fresh (dropped and created) database on ``server`` (a base URL ending in ``/``)."""
    import psycopg

    plain = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server + name


def engine_env(server: str, name: str) -> dict[str, str]:
    """What the engine jar reads (``DB_URL``, ``DB_DRIVER``, ``DB_USERNAME``, ``DB_PASSWORD``)
    to run on database ``name`` of ``server``."""
    url = make_url(server + name)
    return {
        "DB_URL": f"jdbc:postgresql://{url.host}:{url.port or 5432}/{name}",
        "DB_DRIVER": "org.postgresql.Driver",
        "DB_USERNAME": url.username or "postgres",
        "DB_PASSWORD": url.password or "",
    }
