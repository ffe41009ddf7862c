"""What a customer's or a loan's references must name: a known branch, a rating of the scale, a
product of the catalogue, and an account manager the engine knows in group ``account-managers``.

The lists are configuration (``config/branches.yaml``, ``config/products.yaml``), read once per
process; the account managers come from the engine through the application's user-directory port
(the callers pass the set they were told). REST and the bulk importer apply the same functions:
the API's row models call the configuration checks field by field, and both ask the directory
once per request or import for all the distinct account managers at once.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from postloan.plans.catalogue import CONFIG, PRODUCTS_FILE, catalogue

BRANCHES_FILE = CONFIG / "branches.yaml"
#: The engine group whose members may be a customer's account manager (DESIGN's group id).
ACCOUNT_MANAGERS_GROUP = "account-managers"


def _read(path: Path) -> dict[str, Any]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path.name}: expected a mapping")
    return raw


def load_branches(path: Path = BRANCHES_FILE) -> dict[str, str]:
    """Branch code to name; an empty list is refused (nobody could be registered)."""
    raw = _read(path).get("branches") or {}
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f"{path.name}: branches must map at least one code to its name")
    return {str(code): str(name) for code, name in raw.items()}


@lru_cache
def branches() -> dict[str, str]:
    return load_branches()


@lru_cache
def score_range(path: Path = PRODUCTS_FILE) -> tuple[float, float]:
    """The range of numeric ratings (credit-bureau scores): customer_rules.credit_score_range."""
    low, high = (_read(path).get("customer_rules") or {}).get("credit_score_range") or (0, 0)
    return float(low), float(high)


def _listed(values: Collection[str], limit: int = 12) -> str:
    shown = list(values)[:limit]
    return ", ".join(shown) + (", ..." if len(values) > limit else "")


def branch_problem(code: str) -> str | None:
    known = branches()
    if code in known:
        return None
    return f"branch {code!r} is not a known branch (config/branches.yaml: {_listed(known)})"


def rating_problem(rating: str) -> str | None:
    """A letter grade of ``rating_scale`` (any case), or a numeric bureau score in range."""
    text = rating.strip()
    scale = catalogue().customer_rules.rating_scale
    if text.upper() in (r.upper() for r in scale):
        return None
    low, high = score_range()
    try:
        score = float(text)
    except ValueError:
        score = None
    if score is not None and low <= score <= high:
        return None
    scores = f" or a credit score from {low:g} to {high:g}" if high > low else ""
    return f"credit rating {rating!r} is not in the rating scale ({_listed(scale, 30)}){scores}"


def product_problem(code: str) -> str | None:
    products = catalogue().products
    if code in products:
        return None
    listed = _listed(products)
    return f"product {code!r} is not in the product catalogue (config/products.yaml: {listed})"


def unknown_account_managers(wanted: Collection[str], known: Collection[str]) -> set[str]:
    """Which of ``wanted`` the directory did not confirm as members of account-managers."""
    return set(wanted) - set(known)


def account_manager_problem(user: str) -> str:
    return (
        f"account manager {user!r} is not a user of the process engine in group "
        f"{ACCOUNT_MANAGERS_GROUP} (the first inspection would be assigned to nobody)"
    )
