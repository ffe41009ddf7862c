"""The product catalogue, inspection templates and special-inspection triggers, from ``config/``.

Analysts change these files, not code. Everything is validated when loaded: a product pointing at
an unknown template, a template without points or a repeated point code is refused with a message
naming the file and the entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CONFIG = Path(__file__).resolve().parents[2] / "config"
PRODUCTS_FILE = CONFIG / "products.yaml"
TEMPLATES_FILE = CONFIG / "inspection_templates.yaml"
TRIGGERS_FILE = CONFIG / "special_triggers.yaml"

MODES = ("on_site", "desk", "outsourced")


class CatalogueError(ValueError):
    """A configuration file is inconsistent; the message names the file and the entry."""


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    template: str
    first_inspection_days: int
    collateral_revaluation_months: int


@dataclass(frozen=True)
class InspectionPoint:
    code: str
    label: str
    evidence: str


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    points: tuple[InspectionPoint, ...]


@dataclass(frozen=True)
class CustomerRules:
    top_borrowers_per_branch: int
    new_customer_months: int
    serious_signal_severities: tuple[str, ...]
    serious_signal_lookback_years: int
    simplified_min_rating: str
    simplified_min_score: float
    rating_scale: tuple[str, ...]

    def rating_at_least_threshold(self, rating: str | None) -> bool:
        """Letter ratings rank by the scale (best first); numeric ones are bureau scores."""
        text = (rating or "").strip().upper()
        if not text:
            return False
        try:
            return float(text) >= self.simplified_min_score
        except ValueError:
            pass
        scale = [r.upper() for r in self.rating_scale]
        if text not in scale:
            return False
        return scale.index(text) <= scale.index(self.simplified_min_rating.upper())


@dataclass(frozen=True)
class SchedulerSettings:
    batch_size: int
    extend_lock_every: int
    extend_lock_ms: int


@dataclass(frozen=True)
class Catalogue:
    products: dict[str, Product]
    default_product: Product
    templates: dict[str, Template]
    customer_rules: CustomerRules
    scheduler: SchedulerSettings
    use_of_funds_label: str
    use_of_funds_evidence: str
    approval_condition_evidence: str

    def product(self, code: str) -> Product:
        return self.products.get(code, self.default_product)

    def template(self, template_id: str) -> Template:
        if template_id not in self.templates:
            raise CatalogueError(f"{TEMPLATES_FILE.name}: no template {template_id!r}")
        return self.templates[template_id]


@dataclass(frozen=True)
class Triggers:
    serious_event_kinds: frozenset[str]
    new_overdue_after_dpd: int
    interest_unpaid_days_over: int
    #: An overdue that began more than this many days before the loan was registered here is
    #: imported history: the derived trigger starts no special inspection for it.
    history_overdue_days: int = 0


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path.name}: cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"{path.name}: expected a mapping at the top")
    return data


def _positive_int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise CatalogueError(f"{where} must be a positive whole number, not {value!r}")
    return value


def _product(code: str, raw: Any, templates: dict[str, Template]) -> Product:
    where = f"{PRODUCTS_FILE.name}: product {code}"
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: expected a mapping")
    template = str(raw.get("template") or "")
    if template not in templates:
        raise CatalogueError(f"{where}: template {template!r} is not in {TEMPLATES_FILE.name}")
    return Product(
        code=code,
        name=str(raw.get("name") or code),
        template=template,
        first_inspection_days=_positive_int(
            raw.get("first_inspection_days"), f"{where}: first_inspection_days"
        ),
        collateral_revaluation_months=_positive_int(
            raw.get("collateral_revaluation_months"), f"{where}: collateral_revaluation_months"
        ),
    )


def _template(template_id: str, raw: Any) -> Template:
    where = f"{TEMPLATES_FILE.name}: template {template_id}"
    points_raw = (raw or {}).get("points") if isinstance(raw, dict) else None
    if not points_raw or not isinstance(points_raw, list):
        raise CatalogueError(f"{where}: needs a non-empty list of points")
    points, seen = [], set()
    for i, p in enumerate(points_raw, start=1):
        if not isinstance(p, dict) or not p.get("code") or not p.get("label"):
            raise CatalogueError(f"{where}: point {i} needs a code and a label")
        code = str(p["code"])
        if code in seen:
            raise CatalogueError(f"{where}: point code {code!r} repeats")
        if not p.get("evidence"):
            raise CatalogueError(f"{where}: point {code} must say which evidence it needs")
        seen.add(code)
        points.append(InspectionPoint(code, str(p["label"]), str(p["evidence"])))
    return Template(template_id, str(raw.get("name") or template_id), tuple(points))


def load_catalogue(
    products_file: Path = PRODUCTS_FILE, templates_file: Path = TEMPLATES_FILE
) -> Catalogue:
    raw_t = _read(templates_file)
    templates = {tid: _template(tid, t) for tid, t in (raw_t.get("templates") or {}).items()}
    if not templates:
        raise CatalogueError(f"{templates_file.name}: no templates")
    raw_p = _read(products_file)
    products = {
        code: _product(code, p, templates) for code, p in (raw_p.get("products") or {}).items()
    }
    default = _product("default", raw_p.get("default"), templates)
    rules = raw_p.get("customer_rules") or {}
    scale = tuple(str(r) for r in rules.get("rating_scale") or ())
    min_rating = str(rules.get("simplified_min_rating") or "")
    if min_rating.upper() not in (r.upper() for r in scale):
        raise CatalogueError(
            f"{products_file.name}: customer_rules.simplified_min_rating "
            f"{min_rating!r} is not in rating_scale"
        )
    where = f"{products_file.name}: customer_rules"
    customer_rules = CustomerRules(
        top_borrowers_per_branch=_positive_int(
            rules.get("top_borrowers_per_branch"), f"{where}.top_borrowers_per_branch"
        ),
        new_customer_months=_positive_int(
            rules.get("new_customer_months"), f"{where}.new_customer_months"
        ),
        serious_signal_severities=tuple(rules.get("serious_signal_severities") or ()),
        serious_signal_lookback_years=_positive_int(
            rules.get("serious_signal_lookback_years"), f"{where}.serious_signal_lookback_years"
        ),
        simplified_min_rating=min_rating,
        simplified_min_score=float(rules.get("simplified_min_score") or 0),
        rating_scale=scale,
    )
    sched = raw_p.get("scheduler") or {}
    scheduler = SchedulerSettings(
        batch_size=_positive_int(
            sched.get("batch_size"), f"{products_file.name}: scheduler.batch_size"
        ),
        extend_lock_every=_positive_int(
            sched.get("extend_lock_every"), f"{products_file.name}: scheduler.extend_lock_every"
        ),
        extend_lock_ms=_positive_int(
            sched.get("extend_lock_ms"), f"{products_file.name}: scheduler.extend_lock_ms"
        ),
    )
    funds = raw_t.get("use_of_funds") or {}
    if "{purpose}" not in str(funds.get("label", "")):
        raise CatalogueError(f"{templates_file.name}: use_of_funds.label must contain {{purpose}}")
    return Catalogue(
        products=products,
        default_product=default,
        templates=templates,
        customer_rules=customer_rules,
        scheduler=scheduler,
        use_of_funds_label=str(funds["label"]),
        use_of_funds_evidence=str(funds.get("evidence") or ""),
        approval_condition_evidence=str(
            (raw_t.get("approval_condition") or {}).get("evidence") or ""
        ),
    )


def load_triggers(path: Path = TRIGGERS_FILE) -> Triggers:
    raw = _read(path)
    events = raw.get("external_events") or {}
    serious = frozenset(str(k) for k in events.get("serious") or ())
    both = serious & {str(k) for k in events.get("not_serious") or ()}
    if both:
        raise CatalogueError(f"{path.name}: {', '.join(sorted(both))} both serious and not")
    repayments = raw.get("repayments") or {}
    return Triggers(
        serious_event_kinds=serious,
        new_overdue_after_dpd=int(repayments.get("new_overdue_after_dpd") or 0),
        interest_unpaid_days_over=_positive_int(
            repayments.get("interest_unpaid_days_over"),
            f"{path.name}: repayments.interest_unpaid_days_over",
        ),
        history_overdue_days=int(repayments.get("history_overdue_days") or 0),
    )


@lru_cache
def catalogue() -> Catalogue:
    """The catalogue of this process (read once; restart to pick up edits)."""
    return load_catalogue()


@lru_cache
def triggers() -> Triggers:
    return load_triggers()
