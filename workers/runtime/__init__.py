"""The external-task worker runtime: the engine's REST API on pooled connections, without the
defects of camunda-external-task-client-python3 (which it replaced; see ``client``).

- handlers registered per topic with a decorator, duplicate topics refused (:class:`TopicRouter`);
- typed variables in and out (Json, Date, Boolean, numbers);
- a handler exception becomes a failure with retries and exponential backoff, and finally an
  incident carrying the error text; :class:`BusinessError` becomes a BPMN error;
- long polling that asks for exactly the free slots, several tasks in flight (8 by default),
  outcomes reported from the handler threads at once, lock extension while a handler runs;
- graceful shutdown on SIGTERM/SIGINT: in-flight tasks finish or are unlocked, none stays locked.
"""

from workers.runtime.client import TaskClient, TaskClientError
from workers.runtime.router import BusinessError, DuplicateTopic, TopicRouter, merge_routers
from workers.runtime.settings import TopicSettings, load_topic_settings
from workers.runtime.task import ExternalTask
from workers.runtime.worker import Worker

__all__ = [
    "BusinessError",
    "DuplicateTopic",
    "ExternalTask",
    "TaskClient",
    "TaskClientError",
    "TopicRouter",
    "TopicSettings",
    "Worker",
    "load_topic_settings",
    "merge_routers",
]
