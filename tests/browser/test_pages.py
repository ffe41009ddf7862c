"""The pages for people in a real browser: sign in, the inspection report, the credit dossier.

Debian's Chromium (tests/browser/conftest.py) opens the API served by uvicorn in this process
(real engine for the login, real database). A person asks for a report without a session, is
sent to the login page, signs in with the Tasklist user and lands on the report; the dossier of
the same customer opens with the same session. What the page shows is checked as a person reads
it (dates, amounts and codes in words), and the screenshots go to docs/.
"""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import new_loan
from playwright.sync_api import expect

from api.pages import format as fmt
from api.pages import session as page_session
from postloan.db import unit_of_work
from postloan.inspections import service as inspections
from postloan.plans.items import create_items

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def report_data(api: Any, database: str) -> dict[str, str]:
    """A customer and loan through the API; a special inspection completed with its report (as
    the process's last step stores it), with a check finding in it."""
    loan_id = new_loan(api, account_manager="am_li", days_overdue=0)
    loan = api.get(f"/api/v1/loans/{loan_id}").json()
    customer = api.get(f"/api/v1/customers/{loan['customer_id']}").json()
    with unit_of_work(database) as session:
        inspection = inspections.request(
            session,
            loan_id=loan_id,
            kind="special",
            reason="Shareholder change reported by the registry",
            actor="tests",
        )
        inspection_id = inspection.id
        # What the process's first steps write: the template's checklist and a check's finding.
        points = [i.code for i in create_items(session, inspection, None)]
        inspections.record_item_results(session, inspection_id, points[1:], points[:1])
        inspections.record_finding(
            session,
            inspection_id,
            source="external",
            code="SHAREHOLDER_CHANGE",
            severity="orange",
            summary="Controlling shareholder changed on the commercial registry",
            evidence={"occurred_on": date.today().isoformat()},
        )
        inspections.finalize(
            session,
            inspection_id,
            inspections.InspectionOutcome(
                inspector="am_li",
                findings_text="Workshop visited; stock and invoices match the ledger.",
                conclusion="concerns",
                reviewer="po_chen",
                review_decision="approve",
                review_comment="Evidence complete; follow the shareholder change.",
                risk_class="special_mention",
                risk_class_reason="shareholder change",
            ),
            actor="tests",
        )
    return {
        "loan_id": loan_id,
        "customer_id": loan["customer_id"],
        "customer_name": customer["name"],
        "inspection_id": inspection_id,
    }


def test_a_person_signs_in_and_reads_the_report_and_the_dossier(
    chromium_browser: Any, api_server: str, report_data: dict[str, str]
) -> None:
    context = chromium_browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        report_path = f"/pages/inspections/{report_data['inspection_id']}"
        # No session yet: the browser is sent to the login, which remembers where to go.
        page.goto(api_server + report_path)
        expect(page).to_have_url(re.compile(r"/pages/login\?next="))
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

        # A wrong password stays on the login page with a clear message, and no cookie.
        page.get_by_label("Username").fill("am_li")
        page.get_by_label("Password").fill("not-my-password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("wrong password")
        assert not [c for c in context.cookies() if c["name"] == page_session.COOKIE]

        # The engine's failed-login delay applies to am_li now: wait it out, as a person would.
        time.sleep(4)
        page.get_by_label("Password").fill("demo-am-li")
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(api_server + report_path)
        (cookie,) = [c for c in context.cookies() if c["name"] == page_session.COOKIE]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        # Invisible to the page's scripts.
        assert page_session.COOKIE not in page.evaluate("document.cookie")

        expect(page.get_by_role("heading", name="Post-loan inspection report")).to_be_visible()
        body = page.locator("main")
        expect(body).to_contain_text(report_data["customer_name"])
        expect(body).to_contain_text("500,000.00 CNY")  # amount with separators and currency
        expect(body).to_contain_text("Special inspection")  # kind in words
        expect(body).to_contain_text("Concerns")  # conclusion in words
        expect(body).to_contain_text("Approved")  # review decision in words
        expect(body).to_contain_text("Shareholder change reported by the registry")
        expect(body).to_contain_text("Micro-enterprise operating loan")  # product by its name
        # The check's finding and the checklist, codes in words.
        findings = page.locator("h2:has-text('Automated checks') + table")
        expect(findings).to_contain_text("External information")
        expect(findings).to_contain_text("Shareholder change")
        expect(findings.locator("td.sev-orange")).to_have_text("Orange")
        points = page.locator("h2:has-text('Inspection points') + table")
        expect(points.locator("tbody tr").first).to_contain_text("Not applicable")
        expect(points).to_contain_text("In order")
        text = body.inner_text()
        assert re.search(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} CST", text), text[:400]
        assert not re.search(r"\d{4}-\d{2}-\d{2}", text)  # no raw date anywhere
        expect(page.locator("header")).to_contain_text("Li Wei")
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / "page-inspection-report.png"), full_page=True)

        # The dossier of the same customer, with the same session.
        page.goto(api_server + f"/pages/customers/{report_data['customer_id']}/dossier")
        expect(page.get_by_role("heading", name=re.compile("Credit dossier"))).to_be_visible()
        body = page.locator("main")
        expect(body).to_contain_text(report_data["loan_id"])
        expect(body).to_contain_text("500,000.00 CNY")
        expect(body).to_contain_text("Micro enterprise")  # segment in words
        expect(body).to_contain_text(fmt.day(date.today()))  # assembled today, in words
        link = page.get_by_role("link", name=report_data["inspection_id"])
        expect(link).to_be_visible()
        expect(body).to_contain_text("No active restriction")
        page.screenshot(path=str(DOCS / "page-credit-dossier.png"), full_page=True)

        # The report is one click away, and signing out ends the session.
        link.click()
        expect(page).to_have_url(api_server + report_path)
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/pages/login$"))
        page.goto(api_server + report_path)
        expect(page).to_have_url(re.compile(r"/pages/login\?next="))
    finally:
        context.close()


def test_swagger_ui_and_redoc_render_with_no_other_host_reachable(
    chromium_browser: Any, api_server: str
) -> None:
    """Every request to another host is refused: the docs still render (offline)."""
    context = chromium_browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    elsewhere: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith(api_server):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_server)
    page = context.new_page()
    try:
        # Generous timeouts: 3 MB of scripts from a server sharing two loaded cores.
        page.goto(api_server + "/docs", wait_until="domcontentloaded", timeout=60_000)
        # The first request of /openapi.json builds the document (seconds on a loaded machine).
        expect(page.locator(".swagger-ui .info .title")).to_contain_text(
            "Post-loan management API", timeout=60_000
        )
        expect(page.locator(".opblock").first).to_be_visible()  # the operations are listed
        page.goto(api_server + "/redoc", wait_until="domcontentloaded", timeout=60_000)
        # ReDoc renders the document's title as its first heading.
        expect(page.locator("h1").first).to_contain_text("Post-loan management API", timeout=30_000)
        expect(page.get_by_text("Customers", exact=False).first).to_be_visible()
        assert elsewhere == []
    finally:
        context.close()
