"""Declaring handlers: ``@router.topic("inspection.finalize")`` on a function.

The handler's parameters name the process variables it needs (only those are fetched); a parameter
called ``task`` receives the :class:`~workers.runtime.task.ExternalTask`. What the handler returns
(a dict, or None) becomes the task's output variables.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Handler = Callable[..., dict[str, Any] | None]
RESERVED = frozenset({"task"})


class DuplicateTopic(Exception):
    """Two handlers for one topic: refused at start-up, never resolved by import order."""


class BusinessError(Exception):
    """A business outcome the diagram models with an error boundary event (BPMN error)."""

    def __init__(self, code: str, message: str, variables: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.variables = variables or {}


@dataclass(frozen=True)
class TopicHandler:
    topic: str
    handler: Handler
    variables: tuple[str, ...]

    def __call__(self, task: Any) -> dict[str, Any] | None:
        kwargs = {name: task.variables.get(name) for name in self.variables}
        if "task" in self.parameters:
            kwargs["task"] = task
        return self.handler(**kwargs)

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(inspect.signature(self.handler).parameters)


class TopicRouter:
    """A group of handlers, usually one per business area."""

    def __init__(self) -> None:
        self.handlers: dict[str, TopicHandler] = {}

    def topic(self, name: str) -> Callable[[Handler], Handler]:
        def register(func: Handler) -> Handler:
            if name in self.handlers:
                raise DuplicateTopic(f"topic {name!r} registered twice in one router")
            params = inspect.signature(func).parameters.values()
            if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
                raise TypeError(f"handler of {name!r}: name the variables it needs explicitly")
            variables = tuple(p.name for p in params if p.name not in RESERVED)
            self.handlers[name] = TopicHandler(name, func, variables)
            return func

        return register


def merge_routers(routers: Iterable[TopicRouter]) -> dict[str, TopicHandler]:
    """All handlers of several routers; a topic handled twice is an error."""
    merged: dict[str, TopicHandler] = {}
    for router in routers:
        for topic, handler in router.handlers.items():
            if topic in merged:
                raise DuplicateTopic(
                    f"topic {topic!r} handled by both {merged[topic].handler.__module__}."
                    f"{merged[topic].handler.__qualname__} and {handler.handler.__module__}."
                    f"{handler.handler.__qualname__}"
                )
            merged[topic] = handler
    return merged
