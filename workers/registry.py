"""Every handler of the system, by topic. Add a business area's router here."""

from __future__ import annotations

from workers import checks, classification, credit, inspection, planning, rectification, vendors
from workers.runtime import merge_routers
from workers.runtime.router import TopicHandler


def all_handlers() -> dict[str, TopicHandler]:
    return merge_routers([inspection.router, classification.router, checks.router,
                          planning.router, rectification.router, credit.router,
                          vendors.router])
