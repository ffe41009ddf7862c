"""A realistic demo portfolio, generated as a stream of records the importer reads.

``generate_portfolio(loans, seed, today)`` yields ``(kind, record)`` pairs (kinds as the importer
names them) with JSON-ready values, customer by customer: the customer, its statements and events,
then each loan followed by its repayment schedule and collateral valuations. Nothing is kept in
memory beyond one customer, so 100,000 loans (about a million repayment rows) stream through.

Deterministic for a seed and a ``today``. What it contains, per loan unless said otherwise:

* segments corporate / sme / micro / retail with their products, amounts and terms; branches and
  the three demo account managers (``am_li``, ``am_zhang``, ``lead_hu``);
* a monthly schedule up to ``today`` plus the next instalment: amortising instalments, or monthly
  interest with the principal at maturity for working-capital and operating loans;
* behaviour: most loans pay on time, some pay late, some stopped paying (31-90, 91-270 and over
  270 days past due), some interest-only loans have interest unpaid for over 60 days;
* approval conditions; collaterals with yearly (commercial) or three-yearly (residential)
  valuations, some stale (no valuation for over a year);
* yearly financial statements per business customer, some with revenue or utility use down 30%+;
* a few external events (litigation, enforcement, tax arrears, ...).
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

Record = tuple[str, dict[str, Any]]

MANAGERS = ("am_li", "am_zhang", "lead_hu")
BRANCHES = ("BR-SH-01", "BR-BJ-02", "BR-SZ-03", "BR-GZ-04", "BR-HZ-05", "BR-CD-06")
INDUSTRIES = (
    "textiles",
    "food processing",
    "logistics",
    "retail trade",
    "construction",
    "electronics",
    "agriculture",
    "catering",
    "machinery",
    "chemicals",
)
RATINGS = ("AA", "A", "BBB", "BB", "B")
#: segment: (weight, products with weights, amount range CNY, term months range)
SEGMENTS: dict[str, tuple[int, tuple[tuple[str, int], ...], tuple[int, int], tuple[int, int]]] = {
    "micro": (35, (("MICRO-OPERATING", 1),), (50_000, 1_000_000), (12, 24)),
    "sme": (
        30,
        (("SME-WORKING-CAPITAL", 4), ("MORTGAGE-COMMERCIAL", 1)),
        (500_000, 5_000_000),
        (12, 36),
    ),
    "corporate": (
        15,
        (("CORP-TERM", 3), ("MORTGAGE-COMMERCIAL", 1)),
        (3_000_000, 50_000_000),
        (36, 60),
    ),
    "retail": (20, (("RETAIL-BUSINESS", 1),), (50_000, 500_000), (12, 36)),
}
#: Products whose schedule is monthly interest with the principal at maturity.
INTEREST_ONLY = {"MICRO-OPERATING", "SME-WORKING-CAPITAL"}
PURPOSES = {
    "MICRO-OPERATING": ("purchase of raw materials", "inventory for peak season", "shop fit-out"),
    "SME-WORKING-CAPITAL": ("working capital", "supplier payments", "purchase of raw materials"),
    "CORP-TERM": ("equipment upgrade", "production line expansion", "acquisition of a plant"),
    "RETAIL-BUSINESS": ("stock for the shop", "delivery vehicle", "renovation of premises"),
    "MORTGAGE-COMMERCIAL": ("purchase of commercial property", "refinancing of premises"),
}
CONDITIONS = (
    "Quarterly financial statements delivered",
    "Funds paid directly to named suppliers",
    "Debt-to-asset ratio kept below 70%",
    "No new borrowing from other banks without notice",
    "Personal guarantee of the controlling shareholder",
    "Collateral insured with the bank as beneficiary",
)
#: behaviour: (weight, days past due range when it stopped paying)
BEHAVIOURS: tuple[tuple[str, int, tuple[int, int]], ...] = (
    ("on_time", 820, (0, 0)),
    ("late_payer", 80, (0, 0)),
    ("early_arrears", 40, (5, 29)),
    ("arrears_31_90", 25, (31, 90)),
    ("npl_91_270", 20, (91, 270)),
    ("npl_over_270", 15, (271, 480)),
)
EVENT_KINDS = {
    "litigation": ("court-registry", "Sued by a supplier over unpaid invoices"),
    "enforcement": ("court-enforcement-list", "Listed as a party subject to enforcement"),
    "tax_arrears": ("tax-bureau", "Tax arrears notice published"),
    "account_frozen": ("bank-notice", "Settlement account frozen by court order"),
    "shareholder_change": ("business-registry", "Controlling shareholder changed"),
    "negative_news": ("news-feed", "Press reports on delayed salaries"),
}

FILES = {
    "customers": "customers.csv",
    "loans": "loans.jsonl",
    "repayments": "repayments.csv",
    "financial-statements": "financial-statements.csv",
    "valuations": "valuations.csv",
    "external-events": "external-events.csv",
}
FIELDS = {
    "customers": (
        "id",
        "name",
        "segment",
        "industry",
        "branch",
        "account_manager",
        "credit_rating",
    ),
    "repayments": ("loan_id", "due_on", "due_amount", "paid_on", "paid_amount", "kind"),
    "financial-statements": (
        "customer_id",
        "period_end",
        "revenue",
        "net_profit",
        "total_assets",
        "total_liabilities",
        "operating_cash_flow",
        "utility_consumption",
    ),
    "valuations": ("collateral_id", "valued_on", "value", "valuer"),
    "external-events": ("customer_id", "kind", "occurred_on", "source", "source_ref", "details"),
}

CENT = Decimal("0.01")


def _money(value: float | Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, 28))


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]


def generate_portfolio(loans: int, seed: int = 1, today: date | None = None) -> Iterator[Record]:
    """Yield ``(kind, record)`` for a portfolio of ``loans`` loans (customers hold 1-3 each).

    Customer ``C{n:05d}`` holds loans ``L{n:05d}-1`` ... and is managed by
    ``MANAGERS[n % 3]`` (so C00001 am_zhang, C00002 lead_hu, C00003 am_li).
    """
    rng = random.Random(seed)
    today = today or date.today()
    segments = tuple((name, spec[0]) for name, spec in SEGMENTS.items())
    made, n = 0, 0
    while made < loans:
        n += 1
        count = min(loans - made, rng.choices((1, 2, 3), weights=(60, 30, 10))[0])
        yield from _customer(rng, n, _weighted(rng, segments), count, today)
        made += count


def _customer(
    rng: random.Random, n: int, segment: str, loans: int, today: date
) -> Iterator[Record]:
    customer_id = f"C{n:05d}"
    industry = rng.choice(INDUSTRIES)
    yield (
        "customers",
        {
            "id": customer_id,
            "name": f"{industry.title()} {'Co.' if segment != 'retail' else 'Shop'} {n}",
            "segment": segment,
            "industry": industry,
            "branch": BRANCHES[n % len(BRANCHES)],
            "account_manager": MANAGERS[n % len(MANAGERS)],
            "credit_rating": rng.choices(RATINGS, weights=(10, 25, 35, 20, 10))[0],
        },
    )
    _, products, (low, high), (term_low, term_high) = SEGMENTS[segment]
    size = rng.uniform(low, high)
    if segment != "retail":
        yield from _statements(rng, customer_id, size, today)
    if rng.random() < 0.04:
        yield from _events(rng, customer_id, today)
    for k in range(1, loans + 1):
        product = _weighted(rng, products)
        yield from _loan(
            rng,
            f"L{n:05d}-{k}",
            customer_id,
            product,
            Decimal(round(size * rng.uniform(0.3, 1.0), -3)),
            rng.randint(term_low, term_high),
            today,
        )


def _loan(
    rng: random.Random,
    loan_id: str,
    customer_id: str,
    product: str,
    amount: Decimal,
    term: int,
    today: date,
) -> Iterator[Record]:
    behaviour = rng.choices(BEHAVIOURS, weights=[b[1] for b in BEHAVIOURS])[0]
    name, _, (dpd_low, dpd_high) = behaviour
    stopped_days = rng.randint(dpd_low, dpd_high) if dpd_high else 0
    if product == "MORTGAGE-COMMERCIAL":
        term *= 3
    # Loans in arrears must be old enough to have stopped paying that long ago.
    earliest_age = max(30, stopped_days + 45)
    age = (
        rng.randint(earliest_age, max(earliest_age, 600))
        if rng.random() < 0.95
        else rng.randint(earliest_age, earliest_age + 900)
    )
    disbursed = today - timedelta(days=age)
    maturity = _add_months(disbursed, term)
    if maturity <= today:  # still on the books: extend to a term that runs past today
        term = (age // 30) + rng.randint(3, 24)
        maturity = _add_months(disbursed, term)
    interest_only = product in INTEREST_ONLY
    # Interest unpaid for more than 60 days (a focused-inspection trigger) on some of them.
    if interest_only and name == "on_time" and rng.random() < 0.02:
        name, stopped_days = "interest_unpaid_over_60", rng.randint(61, 120)
    collaterals = list(_collaterals(rng, loan_id, product, amount))
    yield (
        "loans",
        {
            "id": loan_id,
            "customer_id": customer_id,
            "product": product,
            "amount": _money(amount),
            "currency": "CNY",
            "disbursed_on": disbursed.isoformat(),
            "maturity_on": maturity.isoformat(),
            "purpose": rng.choice(PURPOSES[product]),
            "approval_conditions": rng.sample(CONDITIONS, rng.randint(1, 3)),
            "collaterals": [c for c, _ in collaterals],
        },
    )
    yield from _schedule(
        rng,
        loan_id,
        amount,
        disbursed,
        maturity,
        term,
        interest_only,
        name,
        today - timedelta(days=stopped_days) if stopped_days else None,
        today,
    )
    for collateral, residential in collaterals:
        yield from _valuations(rng, collateral, residential, disbursed, today)


def _schedule(
    rng: random.Random,
    loan_id: str,
    amount: Decimal,
    disbursed: date,
    maturity: date,
    term: int,
    interest_only: bool,
    behaviour: str,
    stopped: date | None,
    today: date,
) -> Iterator[Record]:
    rate = rng.uniform(0.035, 0.08) / 12
    if interest_only:
        due_amount = _money(float(amount) * rate)
        kind = "interest"
    else:
        annuity = float(amount) * rate / (1 - (1 + rate) ** -term)
        due_amount, kind = _money(annuity), "instalment"
    month = 1
    while True:
        due = _add_months(disbursed, month)
        if due > maturity:
            break
        last = due == maturity or _add_months(disbursed, month + 1) > maturity
        amount_due = due_amount
        if interest_only and last:
            amount_due, kind = _money(amount), "principal"
        record: dict[str, Any] = {
            "loan_id": loan_id,
            "due_on": due.isoformat(),
            "due_amount": amount_due,
            "paid_on": None,
            "paid_amount": "0",
            "kind": kind,
        }
        if due < today and (stopped is None or due < stopped):
            delay = rng.randint(5, 25) if behaviour == "late_payer" else rng.randint(-3, 1)
            paid_on = min(due + timedelta(days=delay), today)
            partial = behaviour == "late_payer" and rng.random() < 0.05
            record["paid_on"] = paid_on.isoformat()
            record["paid_amount"] = _money(Decimal(amount_due) / 2) if partial else amount_due
        yield "repayments", record
        if due >= today:  # the next instalment, not yet due
            break
        month += 1


def _collaterals(
    rng: random.Random, loan_id: str, product: str, amount: Decimal
) -> Iterator[tuple[dict[str, Any], bool]]:
    if product == "MORTGAGE-COMMERCIAL":
        kinds = ["commercial_property"]
    elif product == "RETAIL-BUSINESS":
        kinds = rng.choice([["residential_property"], ["guarantee"], []])
    else:
        kinds = rng.sample(
            ["commercial_property", "equipment", "receivables", "guarantee"],
            rng.choices((0, 1, 2), weights=(20, 60, 20))[0],
        )
    for i, kind in enumerate(kinds, start=1):
        yield (
            {
                "id": f"COL-{loan_id}-{i}",
                "kind": kind,
                "value": _money(amount * Decimal(str(round(rng.uniform(1.1, 2.0), 2)))),
                "currency": "CNY",
                "description": f"{kind.replace('_', ' ')} pledged for {loan_id}",
            },
            kind == "residential_property",
        )


def _valuations(
    rng: random.Random, collateral: dict[str, Any], residential: bool, disbursed: date, today: date
) -> Iterator[Record]:
    if collateral["kind"] == "guarantee":
        return
    every = 36 if residential else 12
    # About one in eight collaterals is stale: its revaluation was skipped.
    stop = today - timedelta(days=rng.randint(400, 700)) if rng.random() < 0.125 else today
    value = Decimal(collateral["value"])
    month = 0
    while True:
        day = _add_months(disbursed, month)
        if day > stop or day > today:
            break
        yield (
            "valuations",
            {
                "collateral_id": collateral["id"],
                "valued_on": day.isoformat(),
                "value": _money(value),
                "valuer": rng.choice(
                    ("Colliers Valuation", "JLL Appraisal", "CBRE Valuation", "Bank appraisal unit")
                ),
            },
        )
        value = value * Decimal(str(round(rng.uniform(0.8, 1.08), 3)))
        month += every


def _statements(rng: random.Random, customer_id: str, size: float, today: date) -> Iterator[Record]:
    revenue = size * rng.uniform(1.5, 4.0)
    utilities = revenue / 1000 * rng.uniform(0.5, 2.0)
    dropping = rng.random() < 0.1
    for year in range(today.year - 3, today.year):
        last = year == today.year - 1
        if last and dropping:  # the red flag: revenue or utility use down 30% and more
            revenue *= rng.uniform(0.4, 0.7)
            utilities *= rng.uniform(0.4, 0.75)
        else:
            revenue *= rng.uniform(0.95, 1.15)
            utilities *= rng.uniform(0.95, 1.1)
        assets = revenue * rng.uniform(0.8, 1.6)
        margin = rng.uniform(-0.08, 0.02) if last and dropping else rng.uniform(0.01, 0.12)
        yield (
            "financial-statements",
            {
                "customer_id": customer_id,
                "period_end": date(year, 12, 31).isoformat(),
                "revenue": _money(revenue),
                "net_profit": _money(revenue * margin),
                "total_assets": _money(assets),
                "total_liabilities": _money(assets * rng.uniform(0.3, 0.85)),
                "operating_cash_flow": _money(revenue * (margin + rng.uniform(-0.05, 0.08))),
                "utility_consumption": _money(utilities),
            },
        )


def _events(rng: random.Random, customer_id: str, today: date) -> Iterator[Record]:
    for kind in rng.sample(sorted(EVENT_KINDS), rng.randint(1, 2)):
        source, details = EVENT_KINDS[kind]
        occurred = today - timedelta(days=rng.randint(1, 360))
        yield (
            "external-events",
            {
                "customer_id": customer_id,
                "kind": kind,
                "occurred_on": occurred.isoformat(),
                "source": source,
                "source_ref": f"{source[:3].upper()}-{rng.randint(10**5, 10**6)}",
                "details": details,
            },
        )


def write_portfolio(records: Iterator[Record], out: Path) -> dict[str, int]:
    """Write the stream into one file per kind (``FILES``); returns rows written per kind."""
    out.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(FILES, 0)
    with ExitStack() as stack:
        handles = {
            kind: stack.enter_context((out / name).open("w", encoding="utf-8", newline=""))
            for kind, name in FILES.items()
        }
        writers: dict[str, Any] = {}
        for kind, fields in FIELDS.items():
            writers[kind] = csv.DictWriter(handles[kind], fieldnames=fields, lineterminator="\n")
            writers[kind].writeheader()
        loans = handles["loans"]
        for kind, record in records:
            if kind == "loans":
                loans.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                writers[kind].writerow(record)
            counts[kind] += 1
    return counts


# -- the demo's scenes ------------------------------------------------------------------------

#: Customers and loans the demo start puts work on (``postloanctl/demo.py``), one scene each.
#: id: (name, segment, industry, branch, account manager, rating, product, amount, days since
#: disbursement, days the oldest unpaid instalment is overdue when imported (0: paid up)).
SCENES: dict[str, tuple[str, str, str, str, str, str, str, int, int, int]] = {
    "C90001": (
        "Jiangnan Precision Parts Co.",
        "sme",
        "machinery",
        "BR-SH-01",
        "am_li",
        "A",
        "SME-WORKING-CAPITAL",
        1_800_000,
        6,
        0,
    ),
    "C90002": (
        "Wuxi Hongda Textile Co.",
        "sme",
        "textiles",
        "BR-SH-01",
        "am_zhang",
        "BB",
        "SME-WORKING-CAPITAL",
        2_400_000,
        420,
        45,
    ),
    "C90003": (
        "Suzhou Lakeside Logistics Co.",
        "sme",
        "logistics",
        "BR-SH-01",
        "am_li",
        "BBB",
        "SME-WORKING-CAPITAL",
        1_500_000,
        300,
        40,
    ),
    "C90004": (
        "Ningbo Harbour Foods Co.",
        "sme",
        "food processing",
        "BR-HZ-05",
        "am_zhang",
        "A",
        "SME-WORKING-CAPITAL",
        2_000_000,
        250,
        0,
    ),
    "C90005": (
        "Hangzhou West Lake Tea Co.",
        "sme",
        "agriculture",
        "BR-HZ-05",
        "lead_hu",
        "AA",
        "SME-WORKING-CAPITAL",
        1_200_000,
        380,
        0,
    ),
    "C90006": (
        "Changzhou Corner Bakery",
        "micro",
        "catering",
        "BR-SH-01",
        "am_li",
        "BBB",
        "MICRO-OPERATING",
        300_000,
        200,
        0,
    ),
    "C90007": (
        "Yangzhou Noodle House",
        "micro",
        "catering",
        "BR-SH-01",
        "am_zhang",
        "BBB",
        "MICRO-OPERATING",
        450_000,
        230,
        0,
    ),
}


def scene_loan(customer_id: str) -> str:
    """The one loan of a scene's customer (``C90001`` -> ``L90001-1``)."""
    return f"L{customer_id[1:]}-1"


def demo_scenes(today: date, seed: int = 20261202) -> Iterator[Record]:
    """Yield the scenes' customers, loans and repayment histories, as the importer reads them."""
    rng = random.Random(seed)
    for customer_id, scene in SCENES.items():
        name, segment, industry, branch, manager, rating, product, amount, age, overdue = scene
        yield (
            "customers",
            {
                "id": customer_id,
                "name": name,
                "segment": segment,
                "industry": industry,
                "branch": branch,
                "account_manager": manager,
                "credit_rating": rating,
            },
        )
        if segment != "retail":
            yield from _statements(rng, customer_id, amount * 1.5, today)
        loan_id = scene_loan(customer_id)
        # An overdue scene's instalments fall so that the oldest unpaid one is ``overdue`` days
        # late (paid up before it); a paid-up one was disbursed ``age`` days ago. Instalments
        # fall on day 28 at the latest (``_add_months``), so a stop on the 29th-31st moves back
        # to the 28th (up to 3 days more overdue) rather than to next month's instalment.
        stopped = today - timedelta(days=overdue) if overdue else None
        if stopped is not None and stopped.day > 28:
            stopped = stopped.replace(day=28)
        disbursed = _add_months(stopped, -(age // 30)) if stopped else today - timedelta(days=age)
        term = 24
        maturity = _add_months(disbursed, term)
        collaterals = list(_collaterals(rng, loan_id, product, Decimal(amount)))
        yield (
            "loans",
            {
                "id": loan_id,
                "customer_id": customer_id,
                "product": product,
                "amount": _money(amount),
                "currency": "CNY",
                "disbursed_on": disbursed.isoformat(),
                "maturity_on": maturity.isoformat(),
                "purpose": PURPOSES[product][0],
                "approval_conditions": list(CONDITIONS[:2]),
                "collaterals": [c for c, _ in collaterals],
            },
        )
        yield from _schedule(
            rng,
            loan_id,
            Decimal(amount),
            disbursed,
            maturity,
            term,
            product in INTEREST_ONLY,
            "on_time",
            stopped,
            today,
        )
        for collateral, residential in collaterals:
            yield from _valuations(rng, collateral, residential, disbursed, today)
