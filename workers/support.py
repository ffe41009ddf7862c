"""What handlers share: the database transaction per task and its idempotency record."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from config.settings import get_settings
from postloan import processed_task
from postloan.application.services import Services, owed
from postloan.db import unit_of_work
from workers.runtime import ExternalTask

WORKER_ACTOR = "worker"

_services: Services | None = None


def use_services(services: Services) -> None:
    """Hand the handlers the process's services (one engine client), from the registration."""
    global _services
    _services = services


def services() -> Services:
    if _services is None:
        raise RuntimeError("workers not registered: call workers.registry.all_handlers(services)")
    return _services


def in_transaction(func: Callable[..., dict[str, Any] | None]) -> Callable[..., dict[str, Any]]:
    """Run a handler in one database transaction, once per external task.

    The handler takes ``session`` and ``task`` plus its variables. If this external task was
    already handled (delivered again after a lock expiry), the stored output is returned and the
    handler does not run: its side effects happen once.
    """
    variables = [n for n in inspect.signature(func).parameters if n not in ("session", "task")]

    @functools.wraps(func)
    def run(task: ExternalTask, **values: Any) -> dict[str, Any]:
        with unit_of_work(get_settings().database_url) as session:
            done = processed_task.previous_output(session, task.id)
            if done is not None:
                return done
            output = func(session=session, task=task, **values) or {}
            processed_task.remember(session, task.id, task.topic, task.business_key, output)
            pending = owed(session)
        if pending and _services is not None:
            _services.deliver(pending)  # at once; else the relay within its poll interval
        return output

    # The router reads the variables from the signature: expose task + the handler's variables.
    params = [inspect.Parameter("task", inspect.Parameter.POSITIONAL_OR_KEYWORD)] + [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in variables
    ]
    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]  # inspect reads it
    return run
