"""The one settings object of the project, read from the environment (prefix ``POSTLOAN_``).

Every process of the system (API, workers, the ``postloanctl`` command) reads it the same way, so a
value set once in the environment or in ``.env`` reaches all of them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent

#: Secrets that ship with the embedded demo. Refused when ``POSTLOAN_ENV=production``.
DEV_ONLY_SECRETS = {
    "admin-dev-only",
    "workers-dev-only",
    "api-dev-only",
    "webhook-dev-only",
    "pages-dev-only",
}

#: Which API role a person's engine groups give on the pages (/pages/...): the same role names
#: API keys carry, so a page admits exactly whom its JSON endpoint admits. A person in several
#: groups gets the first of PAGE_ROLE_ORDER that any of them maps to; no mapped group, no login.
PAGE_ROLES_BY_GROUP = {
    "camunda-admin": "admin",
    "auditors": "auditor",
    "account-managers": "viewer",
    "postloan-officers": "viewer",
    "credit-managers": "viewer",
    "credit-approvers": "viewer",
    "task-supervisors": "viewer",
}
PAGE_ROLE_ORDER = ("admin", "integrator", "auditor", "viewer")


class Settings(BaseSettings):
    """All tunables of the system. Field names map to ``POSTLOAN_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="POSTLOAN_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = ROOT / "var"
    database_url: str = ""

    # The engine (Camunda 7 REST API) and the technical users that talk to it.
    engine_url: str = "http://localhost:8080/engine-rest"
    engine_admin_user: str = "admin"
    engine_admin_password: SecretStr = SecretStr("admin-dev-only")
    engine_worker_user: str = "svc-workers"
    engine_worker_password: SecretStr = SecretStr("workers-dev-only")
    engine_api_user: str = "svc-api"
    engine_api_password: SecretStr = SecretStr("api-dev-only")
    engine_timeout_seconds: float = Field(10.0, gt=0)

    # External-task workers.
    worker_id: str = ""
    # Tasks handled at once per worker process. Real handlers write to SQLite (WAL, one writer at
    # a time, busy_timeout 10 s, a pool of 15 connections): 8 queue for the write lock for
    # milliseconds instead of hitting "database is locked". Raise it on PostgreSQL.
    worker_max_in_flight: int = Field(8, ge=1, le=64)
    # Tasks fetched beyond those running, locked and waiting for a free handler: a fetch costs the
    # engine about as much as several completions, so each one should bring a batch (measured in
    # benchmarks/workers_side_by_side.py: 24 gave about 1.7x the no-op throughput of 0). Waiting
    # tasks' locks are extended like running ones'; a killed worker's come back when they expire
    # (tests/resilience/test_worker_killed.py). 0: fetch only as many as can run.
    worker_fetch_ahead: int = Field(24, ge=0, le=256)
    # Long enough to keep idle polling cheap, short enough that a stop never waits long for it.
    worker_long_poll_ms: int = Field(10_000, ge=0, le=1_800_000)
    worker_shutdown_grace_seconds: float = Field(20.0, ge=0)
    worker_topics_file: Path = ROOT / "config" / "topics.yaml"
    # The inspection scheduler's capacity and spread (per-person limits, catch-up dates).
    scheduling_file: Path = ROOT / "config" / "scheduling.yaml"

    # `postloanctl up` restarts a component that dies: after `initial` seconds, doubling up to
    # `max`; back to `initial` once it had stayed up `reset` seconds.
    restart_backoff_initial_seconds: float = Field(1.0, gt=0)
    restart_backoff_max_seconds: float = Field(60.0, gt=0)
    restart_backoff_reset_seconds: float = Field(60.0, ge=0)

    # Diagrams and identities provisioned into the engine.
    bpmn_dir: Path = ROOT / "bpmn"
    identities_file: Path = ROOT / "config" / "identities.yaml"
    deployment_name: str = "post-loan"

    # REST API.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_engine_url: str = ""
    # Where people's browsers reach the API (links on Tasklist forms to /pages/...); empty: the
    # API's local address http://api_host:api_port.
    public_api_url: str = ""
    # Pages for people (/pages/...): a login with the engine's users, then a signed HttpOnly
    # session cookie (HMAC-SHA256 of this secret) that lasts this many minutes.
    page_session_secret: SecretStr = SecretStr("pages-dev-only")
    page_session_minutes: int = Field(30, ge=1, le=720)
    page_roles_by_group: dict[str, str] = Field(default_factory=lambda: dict(PAGE_ROLES_BY_GROUP))
    # Send the cookie over HTTPS only (set true behind TLS; the embedded default is plain HTTP).
    page_cookie_secure: bool = False

    # Signed webhook push of credit-application results to the origination system (empty URL:
    # deliveries are recorded as skipped). Body signed with HMAC-SHA256 of the secret.
    origination_webhook_url: str = ""
    origination_webhook_secret: SecretStr = SecretStr("webhook-dev-only")
    origination_webhook_timeout_seconds: float = Field(10.0, gt=0)
    # Signed push of instalment-due reminders to the customer-notification system (empty: none;
    # the customer notice is still recorded); same secret and signature as the credit webhook.
    reminder_webhook_url: str = ""
    # The outbox relay (in the workers process): poll interval, lease, retries and backoff, and
    # how often the derived triggers (overdue loans with no special inspection) are checked.
    outbox_poll_seconds: float = Field(0.5, gt=0)
    outbox_lease_seconds: float = Field(30.0, gt=0)
    outbox_max_attempts: int = Field(8, ge=1)
    outbox_backoff_seconds: float = Field(1.0, ge=0)
    outbox_backoff_max_seconds: float = Field(300.0, ge=0)
    outbox_derived_pass_seconds: float = Field(60.0, gt=0)

    @model_validator(mode="after")
    def _derive_and_check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'postloan.db'}"
        if self.env == "production":
            for name in (
                "engine_admin_password",
                "engine_worker_password",
                "engine_api_password",
                "origination_webhook_secret",
                "page_session_secret",
            ):
                if getattr(self, name).get_secret_value() in DEV_ONLY_SECRETS:
                    raise ValueError(
                        f"POSTLOAN_{name.upper()} still has its development value; "
                        "set a real secret for production"
                    )
        return self

    @property
    def public_api_base(self) -> str:
        """The API's address as people's browsers reach it, without a trailing slash."""
        return (self.public_api_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def webapp_url(self) -> str:
        """Where people log in (Tasklist), derived from the engine's REST address."""
        base = self.public_engine_url or self.engine_url
        return base.removesuffix("/engine-rest") + "/camunda/app/tasklist/"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
