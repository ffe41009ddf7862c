"""Handlers of the ``due_diligence_review`` process (business key = the review id)."""

from __future__ import annotations

from workers.runtime import TopicRouter

router = TopicRouter()
