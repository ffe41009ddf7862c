"""Dashboards: pages with charts for people (issue 12).

Five dashboards under ``/pages/dashboards/``: the five-category migration matrix, signals by
severity over time, the on-time inspection rate by branch, the assessment's ranking with each
score's explanation, and open rectifications and restrictions by age. Each page draws its
charts with the vendored Chart.js (``api/static/chartjs/``, started by
``api/static/dashboards.js``) from JSON in a ``<script type="application/json">`` element, and
lists the same figures in a table under them (what a screen reader and the printout read).
Filters are query parameters, checked here: a bad one is a 422 page naming the field.

Who may look: the roles the other pages admit for staff reads (``Reader``: viewer, auditor,
integrator, admin); a vendor's key or session gets 403, no session at all goes to the login.
The pages load nothing from another host (the Content-Security-Policy says so too).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from string import Template
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api.deps import Caller, SessionDep, get_caller
from api.errors import ApiError
from api.pages import format as fmt
from api.pages import render
from api.pages import session as page_session
from api.pages.render import e, td
from config.settings import get_settings
from postloan.assessment import periods
from postloan.assessment.results import LEVELS, IndicatorValue, Scorecard
from postloan.classification.rules import CLASSES
from postloan.dashboards import queries, scores
from postloan.dashboards.settings import dashboard_rules
from postloan.errors import DomainError, InvalidInput

router = APIRouter(prefix="/pages/dashboards", tags=["pages"], include_in_schema=False)

#: Nothing from another host; scripts only from this server (the chart data is JSON, not code).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)
HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": CSP}
#: The roles the pages admit for staff reads (the JSON API's ``Reader``, admin always).
STAFF_ROLES = ("admin", "integrator", "auditor", "viewer")

#: Colours people already read: the early-warning severities, classes from good to bad.
SEVERITY_COLOURS = {"red": "#c62828", "orange": "#ef6c00", "yellow": "#f2c200", "blue": "#1e5aa8"}
CLASS_COLOURS = {
    "normal": "#2e7d32",
    "special_mention": "#f2c200",
    "substandard": "#ef6c00",
    "doubtful": "#c62828",
    "loss": "#4a148c",
}
RECTIFICATION_COLOURS = {
    "minor": "#1e5aa8",
    "major": "#f2c200",
    "serious": "#ef6c00",
    "critical": "#c62828",
}
GOOD, BAD = "#2e7d32", "#c62828"
RESTRICTION_COLOURS = {"disbursement_freeze": "#c62828", "new_business_restriction": "#ef6c00"}
LEVEL_WORDS = {
    "account_manager": "Account managers",
    "postloan_officer": "Post-loan officers",
    "vendor": "Vendors",
    "branch": "Branches",
}


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    what: str


DASHBOARDS = (
    Dashboard(
        "migration",
        "Five-category migration",
        "How many loans (and how much) moved from each class to each other class between two "
        "dates.",
    ),
    Dashboard("signals", "Early-warning signals", "Signals raised per week or month by severity."),
    Dashboard(
        "inspections",
        "Inspections on time",
        "The share of each branch's due inspections done by their due date, per quarter.",
    ),
    Dashboard(
        "ranking",
        "Assessment ranking",
        "Account managers, post-loan officers, vendors or branches ranked by their score, with "
        "every indicator that made it.",
    ),
    Dashboard(
        "rectifications",
        "Open rectifications and restrictions",
        "What is still open, by how long it has been open and how serious it is.",
    ),
)


# -- access and errors ----------------------------------------------------------------------------


def _refusal(request: Request, caller: Caller) -> HTMLResponse | None:
    """None for a staff reader; a vendor (key or session) is refused: a 403 page for a browser,
    the API's JSON error otherwise."""
    if caller.role in STAFF_ROLES:
        return None
    detail = f"role {caller.role!r} may not open the dashboards; needs one of: " + ", ".join(
        STAFF_ROLES
    )
    if not page_session.wants_html(request):
        raise ApiError(403, "forbidden", detail)
    return _html(render.error(403, detail, None), 403)


#: Who asks (key or session); the role is checked by :func:`_guarded` / :func:`_refusal`, so
#: that a vendor's browser gets a 403 page rather than the API's JSON.
Visitor = Annotated[Caller, Depends(get_caller)]


def _person(request: Request, caller: Caller) -> page_session.PageSession:
    found = page_session.from_request(request, get_settings())
    if found is not None:
        return found
    return page_session.PageSession(caller.name, caller.role, caller.name, 0)


def _html(content: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status_code, headers=HEADERS)


def _error(request: Request, caller: Caller | None, status: int, detail: str) -> HTMLResponse:
    person = _person(request, caller) if caller is not None else None
    return _html(render.error(status, detail, person), status)


# -- filters --------------------------------------------------------------------------------------


def _day(value: str | None, field: str, default: date) -> date:
    if value is None or not value.strip():
        return default
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{field} must be a date YYYY-MM-DD, not {value!r}", field=field
        ) from None


def _span(from_: str | None, to: str | None) -> tuple[date, date]:
    today = date.today()
    to_day = _day(to, "to", today)
    from_day = _day(from_, "from", to_day - timedelta(days=dashboard_rules().default_days_back))
    if from_day > to_day:
        raise InvalidInput(
            f"to ({to_day.isoformat()}) is before from ({from_day.isoformat()})", field="to"
        )
    return from_day, to_day


def current_quarter(today: date) -> str:
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def _period(value: str | None) -> periods.Period:
    return periods.parse(value if value and value.strip() else current_quarter(date.today()))


FilterText = Annotated[str | None, Query(max_length=40)]


# -- pieces of a page -----------------------------------------------------------------------------


def _json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>``, no HTML in it at all)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _nav(current: str) -> str:
    links = [
        f'<a href="/pages/dashboards/{d.slug}"'
        + (' aria-current="page"' if d.slug == current else "")
        + f">{e(d.title)}</a>"
        for d in DASHBOARDS
    ]
    return '<a href="/pages/dashboards/">All dashboards</a> · ' + " · ".join(links)


def _date_input(name: str, label: str, value: date) -> str:
    return (
        f'<label>{e(label)} <input type="date" name="{e(name)}" '
        f'value="{e(value.isoformat())}" required></label>'
    )


def _select(name: str, label: str, options: Sequence[tuple[str, str]], value: str) -> str:
    opts = "".join(
        f'<option value="{e(v)}"' + (" selected" if v == value else "") + f">{e(words)}</option>"
        for v, words in options
    )
    return f'<label>{e(label)} <select name="{e(name)}">{opts}</select></label>'


def _text_input(name: str, label: str, value: str, hint: str) -> str:
    return (
        f'<label>{e(label)} <input type="text" name="{e(name)}" value="{e(value)}" size="9" '
        f'pattern="\\d{{4}}(-Q[1-4]|-(0[1-9]|1[0-2]))?" title="{e(hint)}"></label>'
    )


@dataclass
class Chart:
    """One chart: what dashboards.js hands to Chart.js, and the figure around its canvas."""

    id: str
    title: str
    labels: list[str]
    datasets: list[dict[str, Any]]
    x_title: str
    y_title: str
    filename: str
    empty: str  # shown instead of the chart when every value is zero
    stacked: bool = True
    horizontal: bool = False
    percent: bool = False
    max_value: float | None = None

    def has_data(self) -> bool:
        return any(v for d in self.datasets for v in d["data"])

    def spec(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "labels": self.labels,
            "datasets": self.datasets,
            "xTitle": self.x_title,
            "yTitle": self.y_title,
            "stacked": self.stacked,
            "horizontal": self.horizontal,
            "percent": self.percent,
            "max": self.max_value,
            "filename": self.filename,
        }

    def figure(self) -> str:
        if not self.has_data():
            return (
                f'<figure class="chart"><figcaption>{e(self.title)}</figcaption>'
                f'<p class="empty" role="status">{e(self.empty)}</p></figure>'
            )
        height = max(320, 34 * len(self.labels) + 120) if self.horizontal else 360
        return (
            f'<figure class="chart"><figcaption>{e(self.title)}</figcaption>'
            f'<div class="canvas-box" style="height:{height}px">'
            f'<canvas id="{e(self.id)}" role="img" aria-label="{e(self.title)}: the table below '
            f'lists the same figures"></canvas></div>'
            f'<p class="noprint"><button type="button" data-download="{e(self.id)}" '
            f'data-filename="{e(self.filename)}">Download PNG</button></p></figure>'
        )


def _count(n: int, css: str = "") -> str:
    """A count in a table: a zero greyed, so that what is there stands out."""
    return td(n, f"num {css}".strip() if n else "num muted")


def numeric_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    empty: str,
    numeric: Sequence[int] | None = None,
) -> str:
    """:func:`render.table` whose ``numeric`` columns (default: all but the first) hold
    figures: their headings right-aligned over them."""
    numbers = set(range(1, len(headers)) if numeric is None else numeric)
    body = "".join("<tr>" + "".join(cells) + "</tr>" for cells in rows)
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="muted">{e(empty)}</td></tr>'
    head = "".join(
        f'<th class="num">{e(h)}</th>' if i in numbers else f"<th>{e(h)}</th>"
        for i, h in enumerate(headers)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def dataset(label: str, data: list[float], colour: str | list[str]) -> dict[str, Any]:
    """One series; ``colour`` one for all its bars or one per bar."""
    return {"label": label, "data": data, "color": colour}


@lru_cache
def _template(name: str) -> Template:
    return Template((render.TEMPLATES / name).read_text(encoding="utf-8"))


def _page(
    request: Request,
    caller: Caller,
    slug: str,
    subtitle: str,
    filters: str,
    charts: list[Chart],
    tables: str,
    summary: str = "",
) -> HTMLResponse:
    board = next(d for d in DASHBOARDS if d.slug == slug)
    drawn = [c for c in charts if c.has_data()]
    body = _template("dashboard.html").substitute(
        nav=_nav(slug),
        heading=e(board.title),
        subtitle=e(subtitle),
        action=e(f"/pages/dashboards/{slug}"),
        filters=filters + ('<button type="submit">Show</button>' if filters else ""),
        summary=f'<p class="summary">{summary}</p>' if summary else "",
        charts="".join(c.figure() for c in charts),
        tables=tables,
        data=_json({"charts": [c.spec() for c in drawn]}),
    )
    title = f"{board.title} · {subtitle}"
    return _html(render.page(title, body, _person(request, caller), board.title))


def _guarded(request: Request, caller: Caller, build: Callable[[], HTMLResponse]) -> HTMLResponse:
    """The page ``build`` makes for a staff reader; a bad filter is a 422 page naming the field
    (JSON for an API client, as the other pages do)."""
    refused = _refusal(request, caller)
    if refused is not None:
        return refused
    try:
        return build()
    except DomainError as exc:
        if not page_session.wants_html(request):
            raise
        return _error(request, caller, exc.status, exc.detail)


# -- the index --------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def index(request: Request, caller: Visitor) -> HTMLResponse:
    refused = _refusal(request, caller)
    if refused is not None:
        return refused
    items = "".join(
        f'<li><a href="/pages/dashboards/{d.slug}">{e(d.title)}</a> — {e(d.what)}</li>'
        for d in DASHBOARDS
    )
    body = _template("dashboard_index.html").substitute(items=items)
    return _html(render.page("Dashboards", body, _person(request, caller)))


# -- migration ------------------------------------------------------------------------------------


def _class_words(code: str) -> str:
    return "New loans" if code == queries.NEW else fmt.word("risk_class", code)


def _amounts(amounts: dict[str, Decimal]) -> str:
    return "; ".join(fmt.amount(v, cur) for cur, v in sorted(amounts.items())) or fmt.EMPTY


@router.get("/migration", response_class=HTMLResponse)
def migration(
    request: Request,
    session: SessionDep,
    caller: Visitor,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: FilterText = None,
) -> HTMLResponse:
    def build() -> HTMLResponse:
        from_day, to_day = _span(from_, to)
        m = queries.migration(session, from_day, to_day)
        sources = [*CLASSES, queries.NEW]
        chart = Chart(
            "chart-migration",
            f"Class on {fmt.day(to_day)} of the loans in each class on {fmt.day(from_day)}",
            [_class_words(s) for s in sources],
            [
                dataset(fmt.word("risk_class", t), [m.count(s, t) for s in sources], colour)
                for t, colour in CLASS_COLOURS.items()
            ],
            f"Class on {fmt.day(from_day)}",
            "Loans",
            f"migration-{to_day.isoformat()}.png",
            "No loans in the portfolio between these dates",
        )
        rows = []
        for s in sources:
            if not any(m.count(s, t) for t in CLASSES):
                continue
            cells = [td(_class_words(s))]
            for t in CLASSES:
                n = m.count(s, t)
                style = ("num same" if s == t else "num") + ("" if n else " muted")
                cells.append(
                    f'<td class="{style}">{n}'
                    + (
                        f'<br><span class="muted">{e(_amounts(m.amounts(s, t)))}</span>'
                        if n
                        else ""
                    )
                    + "</td>"
                )
            cells.append(td(sum(m.count(s, t) for t in CLASSES), "num"))
            rows.append(cells)
        header = [f"On {fmt.day(from_day)} ↓ / on {fmt.day(to_day)} →"]
        header += [fmt.word("risk_class", t) for t in CLASSES] + ["Loans"]
        worse = sum(
            c.loans
            for c in m.cells
            if c.from_class in CLASSES and CLASSES.index(c.to_class) > CLASSES.index(c.from_class)
        )
        better = sum(
            c.loans
            for c in m.cells
            if c.from_class in CLASSES and CLASSES.index(c.to_class) < CLASSES.index(c.from_class)
        )
        new = sum(c.loans for c in m.cells if c.from_class == queries.NEW)
        kept = m.total - worse - better - new
        summary = (
            f"{_plural(m.total, 'loan', 'loans')}: "
            f"<strong>{worse} moved to a worse class</strong>, {better} to a better one, "
            f"{kept} kept their class, {new} new."
        )
        filters = _date_input("from", "From", from_day) + _date_input("to", "To", to_day)
        tables = "<h2>Loans by class on both dates</h2>" + numeric_table(
            header, rows, "No loans in the portfolio between these dates"
        )
        subtitle = f"{fmt.day(from_day)} to {fmt.day(to_day)}"
        return _page(request, caller, "migration", subtitle, filters, [chart], tables, summary)

    return _guarded(request, caller, build)


# -- signals --------------------------------------------------------------------------------------


def _bucket_words(b: queries.SignalBucket, bucket: str) -> str:
    if bucket == "month":
        return b.starts_on.strftime("%B %Y")
    return f"Week of {fmt.day(b.starts_on)}"


def _bucket_tick(b: queries.SignalBucket, bucket: str) -> str:
    """The chart's short label of a bucket (the table under it has the long one)."""
    if bucket == "month":
        return b.starts_on.strftime("%b %Y")
    return f"{b.starts_on.day} {b.starts_on.strftime('%b')}"


@router.get("/signals", response_class=HTMLResponse)
def signals(
    request: Request,
    session: SessionDep,
    caller: Visitor,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: FilterText = None,
    bucket: FilterText = None,
) -> HTMLResponse:
    def build() -> HTMLResponse:
        from_day, to_day = _span(from_, to)
        per = (bucket or "week").strip()
        found = queries.signals_over_time(session, from_day, to_day, per)
        severities = list(SEVERITY_COLOURS)
        chart = Chart(
            "chart-signals",
            f"Signals raised per {per} by severity",
            [_bucket_tick(b, per) for b in found.buckets],
            [
                dataset(
                    fmt.word("severity", sev),
                    [b.by_severity.get(sev, 0) for b in found.buckets],
                    SEVERITY_COLOURS[sev],
                )
                for sev in severities
            ],
            "Week starting" if per == "week" else "Month",
            "Signals raised",
            f"signals-{to_day.isoformat()}.png",
            "No signals in this period",
        )
        rows = [
            [td(_bucket_words(b, per))]
            + [_count(b.by_severity.get(sev, 0), f"sev-{sev}") for sev in severities]
            + [td(b.total, "num")]
            for b in found.buckets
            if b.total
        ]
        header = ["Period", *(fmt.word("severity", s) for s in severities), "All"]
        totals = {s: sum(b.by_severity.get(s, 0) for b in found.buckets) for s in severities}
        summary = f"{_plural(found.total, 'signal', 'signals')} raised" + (
            ": " + ", ".join(f"{n} {fmt.word('severity', s).lower()}" for s, n in totals.items())
            if found.total
            else "."
        )
        filters = (
            _date_input("from", "From", from_day)
            + _date_input("to", "To", to_day)
            + _select("bucket", "Per", [("week", "Week"), ("month", "Month")], per)
        )
        tables = "<h2>Signals raised</h2>" + numeric_table(
            header, rows, "No signals in this period"
        )
        subtitle = f"{fmt.day(from_day)} to {fmt.day(to_day)}"
        return _page(request, caller, "signals", subtitle, filters, [chart], tables, summary)

    return _guarded(request, caller, build)


# -- inspections on time --------------------------------------------------------------------------


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _percent(rate: float | None) -> str:
    return fmt.EMPTY if rate is None else f"{rate * 100:.0f}%"


@router.get("/inspections", response_class=HTMLResponse)
def inspections(
    request: Request, session: SessionDep, caller: Visitor, period: FilterText = None
) -> HTMLResponse:
    def build() -> HTMLResponse:
        p = _period(period)
        rows = scores.on_time_by_branch(session, p.key)
        measured = [r for r in rows if r.rate is not None]
        target = dashboard_rules().on_time_target
        meets = [r for r in measured if (r.rate or 0) >= target]
        chart = Chart(
            "chart-inspections",
            f"Inspections done by their due date, {p.key} (target {_percent(target)}: green "
            "meets it, red falls short)",
            [r.branch_name for r in measured],
            [
                dataset(
                    "Done on time",
                    [round((r.rate or 0) * 100, 1) for r in measured],
                    [GOOD if (r.rate or 0) >= target else BAD for r in measured],
                )
            ],
            "Branch",
            "Done on time (%)",
            f"inspections-{p.key}.png",
            f"No inspection was due in {p.key}",
            stacked=False,
            percent=True,
            max_value=100,
        )
        table_rows = [
            [
                td(r.branch_name),
                td(r.on_time if r.on_time is not None else fmt.EMPTY, "num"),
                td(r.due if r.due is not None else fmt.EMPTY, "num"),
                td(_percent(r.rate), "num"),
                td(r.explanation),
            ]
            for r in rows
        ]
        tables = "<h2>By branch</h2>" + numeric_table(
            ["Branch", "Done on time", "Due", "Rate", "Explanation"],
            table_rows,
            f"No branch scorecards for {p.key}",
            (1, 2, 3),
        )
        filters = _text_input("period", "Period", p.key, "a quarter 2026-Q3, a month or a year")
        subtitle = f"{fmt.day(p.start)} to {fmt.day(p.end)}"
        summary = ""
        if measured:
            done = sum(r.on_time or 0 for r in measured)
            due = sum(r.due or 0 for r in measured)
            worst = min(measured, key=lambda r: r.rate or 0)
            summary = (
                f"{done} of {due} inspections due were done on time"
                f"{f' ({done / due * 100:.0f}%)' if due else ''}. Target {_percent(target)}: "
                f"<strong>{len(meets)} of {_plural(len(measured), 'branch', 'branches')} "
                f"meet it</strong>; lowest: {e(worst.branch_name)} ({_percent(worst.rate)})."
            )
        return _page(request, caller, "inspections", subtitle, filters, [chart], tables, summary)

    return _guarded(request, caller, build)


# -- ranking --------------------------------------------------------------------------------------


def _value(v: float | None, numerator: int | None, denominator: int | None) -> str:
    if v is None:
        return "Nothing to measure"
    if numerator is not None and denominator:
        return f"{numerator} of {denominator}"
    return f"{v:g}"


def _quiet(indicator: IndicatorValue) -> str:
    """An indicator with nothing to measure is greyed: what scored stands out."""
    return "muted" if indicator.value is None else ""


def _scorecard_table(card: Scorecard) -> str:
    rows: Iterable[list[str]] = (
        [
            td(i.label, _quiet(i)),
            td(_value(i.value, i.numerator, i.denominator), f"num {_quiet(i)}".strip()),
            td(f"{i.weight:g}", f"num {_quiet(i)}".strip()),
            td(f"{i.points:.1f}", f"num {_quiet(i)}".strip()),
            td(i.explanation, _quiet(i)),
        ]
        for i in card.indicators
    )
    return (
        f'<h3 id="subject-{e(card.subject_id)}">{card.rank}. {e(card.subject_name)} — score '
        f"{card.score:.1f} ({e(card.band.capitalize())})</h3>"
        + numeric_table(
            ["Indicator", "Value", "Weight", "Points", "Explanation"],
            rows,
            "No indicators",
            (1, 2, 3),
        )
    )


@router.get("/ranking", response_class=HTMLResponse)
def ranking(
    request: Request,
    session: SessionDep,
    caller: Visitor,
    period: FilterText = None,
    level: FilterText = None,
) -> HTMLResponse:
    def build() -> HTMLResponse:
        p = _period(period)
        lvl = (level or "account_manager").strip()
        cards = scores.ranking(session, p.key, lvl)
        chart = Chart(
            "chart-ranking",
            f"{LEVEL_WORDS.get(lvl, lvl)} by score, {p.key}",
            [f"{c.rank}. {c.subject_name}" for c in cards],
            [dataset("Score (0 to 100)", [round(c.score, 1) for c in cards], "#1e5aa8")],
            "Score (0 to 100)",
            "",
            f"ranking-{lvl}-{p.key}.png",
            f"No scorecards for {p.key}",
            stacked=False,
            horizontal=True,
            max_value=100,
        )
        summary_rows = [
            [
                td(c.rank, "num"),
                f'<td><a href="#subject-{e(c.subject_id)}">{e(c.subject_name)}</a></td>',
                td(f"{c.score:.1f}", "num"),
                td(c.band.capitalize()),
            ]
            for c in cards
        ]
        tables = (
            "<h2>Ranking</h2>"
            + numeric_table(
                ["Rank", "Name", "Score", "Band"],
                summary_rows,
                f"No scorecards for {p.key}",
                (0, 2),
            )
            + ("<h2>How each score was made</h2>" if cards else "")
            + "".join(_scorecard_table(c) for c in cards)
        )
        filters = _text_input(
            "period", "Period", p.key, "a quarter 2026-Q3, a month or a year"
        ) + _select("level", "Who", [(v, LEVEL_WORDS[v]) for v in LEVELS], lvl)
        subtitle = f"{LEVEL_WORDS.get(lvl, lvl)} · {fmt.day(p.start)} to {fmt.day(p.end)}"
        return _page(request, caller, "ranking", subtitle, filters, [chart], tables)

    return _guarded(request, caller, build)


# -- rectifications and restrictions --------------------------------------------------------------


@router.get("/rectifications", response_class=HTMLResponse)
def rectifications(request: Request, session: SessionDep, caller: Visitor) -> HTMLResponse:
    def build() -> HTMLResponse:
        today = date.today()
        a = queries.ages(session, today)

        def age_chart(
            name: str,
            title: str,
            rows: Sequence[queries.AgeRow],
            colours: dict[str, str],
            vocab: str,
            axes: tuple[str, str],
            empty: str,
        ) -> Chart:
            """Rows by age band, a stacked dataset per key of ``colours`` (named in ``vocab``)."""
            return Chart(
                f"chart-{name}",
                title,
                [r.label for r in rows],
                [
                    dataset(fmt.word(vocab, key), [r.counts.get(key, 0) for r in rows], colour)
                    for key, colour in colours.items()
                ],
                *axes,
                f"{name}-{today.isoformat()}.png",
                empty,
            )

        rect_chart = age_chart(
            "rectifications",
            "Open rectifications by days open and severity",
            a.rectifications,
            RECTIFICATION_COLOURS,
            "rectification_severity",
            ("Days since raised", "Open rectifications"),
            "No open rectifications",
        )
        restr_chart = age_chart(
            "restrictions",
            "Restrictions in force by days in force and kind",
            a.restrictions,
            RESTRICTION_COLOURS,
            "restriction_kind",
            ("Days in force", "Restrictions"),
            "No restriction in force",
        )

        def age_table(rows: Sequence[queries.AgeRow], keys: Sequence[str], vocab: str) -> str:
            return numeric_table(
                ["Open for", *(fmt.word(vocab, k) for k in keys), "All"],
                (
                    [td(r.label)]
                    + [_count(r.counts.get(k, 0)) for k in keys]
                    + [td(r.total, "num")]
                    for r in rows
                    if r.total
                ),
                "None",
            )

        tables = (
            "<h2>Open rectifications</h2>"
            + age_table(
                a.rectifications, queries.RECTIFICATION_SEVERITIES, "rectification_severity"
            )
            + "<h2>Restrictions in force</h2>"
            + age_table(a.restrictions, queries.RESTRICTION_KINDS, "restriction_kind")
        )
        summary = (
            f"{_plural(a.open_rectifications, 'open rectification', 'open rectifications')}, "
            f'<span class="{"warn" if a.overdue_rectifications else ""}">'
            f"{a.overdue_rectifications} past their deadline</span>; "
            f"{_plural(a.restrictions_in_force, 'restriction', 'restrictions')} in force."
        )
        subtitle = f"As of {fmt.day(today)}"
        return _page(
            request,
            caller,
            "rectifications",
            subtitle,
            "",
            [rect_chart, restr_chart],
            tables,
            summary,
        )

    return _guarded(request, caller, build)
