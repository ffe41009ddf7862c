"""Every handler of the system, by topic. Add a business area's router here."""

from __future__ import annotations

from postloan.application.services import Services
from workers import (
    checks,
    classification,
    credit,
    due_diligence,
    facts,
    form_context,
    inspection,
    opportunities,
    planning,
    rectification,
    reminders,
    signal_handling,
    vendors,
)
from workers.runtime import merge_routers
from workers.runtime.router import TopicHandler
from workers.support import use_services


def all_handlers(services: Services | None = None) -> dict[str, TopicHandler]:
    """Every handler by topic; ``services`` (built by the entry point) are handed to them."""
    if services is not None:
        use_services(services)
    return merge_routers(
        [
            inspection.router,
            classification.router,
            checks.router,
            planning.router,
            rectification.router,
            credit.router,
            vendors.router,
            form_context.router,
            signal_handling.router,
            facts.router,
            opportunities.router,
            reminders.router,
            due_diligence.router,
        ]
    )
