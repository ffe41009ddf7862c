"""Who the engine knows in a group, cached briefly (``postloan.application.ports.UserDirectory``).

One REST query per group and refresh (``GET /user?memberOfGroup=...``, paged), whatever the number
of users asked about: a request registering one customer and an import of 1,300 cost the same. A
group's members are kept for ``ttl`` seconds; a user not among them makes one fresh read when the
cached list is older than ``recheck_after`` seconds (a manager provisioned a moment ago is found,
a run of unknown names does not hammer the engine). The cache is per engine and group, shared by
the per-request adapters of one process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from typing import Any

PAGE = 500


class GroupDirectory:
    def __init__(self, gateway: Any, *, ttl: float = 60.0, recheck_after: float = 5.0) -> None:
        self.gateway, self.ttl, self.recheck_after = gateway, ttl, recheck_after

    def _read(self, group: str) -> frozenset[str]:
        found: set[str] = set()
        first = 0
        while True:
            page = (
                self.gateway.call(
                    "GET",
                    "/user",
                    params={"memberOfGroup": group, "firstResult": first, "maxResults": PAGE},
                )
                or []
            )
            found |= {str(u["id"]) for u in page}
            if len(page) < PAGE:
                return frozenset(found)
            first += PAGE

    def members_of(self, group: str, users: Collection[str]) -> set[str]:
        wanted = set(users)
        key = (getattr(self.gateway, "base_url", ""), group)
        now = time.monotonic()
        with _LOCK:
            cached = _CACHE.get(key)
        if cached is not None:
            read_at, members = cached
            age = now - read_at
            if age < self.ttl and (wanted <= members or age < self.recheck_after):
                return wanted & members
        members = self._read(group)
        with _LOCK:
            _CACHE[key] = (time.monotonic(), members)
        return wanted & members


_CACHE: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}
_LOCK = threading.Lock()


def forget() -> None:
    """Drop every cached group (tests that change memberships)."""
    with _LOCK:
        _CACHE.clear()
