"""The people's session on the pages: a signed, short-lived, HttpOnly cookie.

Staff log in at ``/pages/login`` with their engine user (the same users as Tasklist); the API
then hands out a cookie ``postloan_session`` that says who they are, the API role their groups
give (``Settings.page_roles_by_group``) and until when it holds. The cookie is
``<payload>.<signature>``: the payload base64url JSON, the signature HMAC-SHA256 of it with
``Settings.page_session_secret``. Nothing is stored on the server: a cookie whose signature does
not match, or whose time is up, is no session at all.

The cookie is read for safe requests only (GET, HEAD): a cookie rides along with any request a
browser sends, so it never authorizes a write (no cross-site request forgery); writes keep
wanting the bearer API key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import Request

from config.settings import PAGE_ROLE_ORDER, Settings

COOKIE = "postloan_session"
LOGIN_PATH = "/pages/login"
#: Requests a cookie may authorize: reading only.
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class PageSession:
    """A person's session as the cookie carries it."""

    user: str
    role: str
    name: str
    expires: int  # Unix seconds


class LoginRequired(Exception):
    """A browser asked for a page without a session: send it to the login page, then back."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: str, secret: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def encode(session: PageSession, secret: str) -> str:
    data = {"u": session.user, "r": session.role, "n": session.name, "exp": session.expires}
    payload = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_sign(payload, secret)}"


def decode(value: str, secret: str, now: float | None = None) -> PageSession | None:
    """The session in ``value``, or None when it is forged, damaged or expired."""
    payload, dot, signature = value.partition(".")
    if not dot or not hmac.compare_digest(_sign(payload, secret), signature):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = PageSession(str(data["u"]), str(data["r"]), str(data["n"]), int(data["exp"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if session.expires <= (time.time() if now is None else now):
        return None
    return session


def new_session(user: str, name: str, role: str, settings: Settings) -> PageSession:
    return PageSession(user, role, name, int(time.time()) + settings.page_session_minutes * 60)


def role_of(groups: Iterable[str], roles_by_group: Mapping[str, str]) -> str | None:
    """The API role a person's groups give (the strongest one), or None for no page at all."""
    given = {roles_by_group[g] for g in groups if g in roles_by_group}
    for role in PAGE_ROLE_ORDER:
        if role in given:
            return role
    return None


def from_request(request: Request, settings: Settings) -> PageSession | None:
    """The valid session of a safe request, or None."""
    if request.method not in SAFE_METHODS:
        return None
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    return decode(value, settings.page_session_secret.get_secret_value())


def wants_html(request: Request) -> bool:
    """A browser navigating (it asks for HTML), not an API client."""
    return request.method in SAFE_METHODS and "text/html" in request.headers.get("accept", "")


def login_url(next_url: str) -> str:
    return f"{LOGIN_PATH}?next={quote(next_url, safe='/')}"


def safe_next(next_url: str | None) -> str:
    """Where to go after the login: a path of this server only (never another host)."""
    if not next_url:
        return "/pages/"
    parts = urlsplit(next_url)
    if parts.scheme or parts.netloc or not next_url.startswith("/") or next_url.startswith("//"):
        return "/pages/"
    if "\\" in next_url:
        return "/pages/"
    return next_url


def requested_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
