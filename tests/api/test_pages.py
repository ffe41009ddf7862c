"""Pages for people: login with the engine's users, the session cookie, the report and dossier
pages in words, and Swagger UI / ReDoc served offline.

The login tests use the real engine's identity service (the demo users of
config/identities.yaml); the pages' data is a real customer and loan posted through the API and
an inspection finalized by the domain service, as the process does at its end. The formatting
and the offline docs need no engine (fast tier).
"""

from __future__ import annotations

import re
import time
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from helpers import new_loan

from api.main import app
from api.pages import format as fmt
from api.pages import session as page_session
from config.settings import get_settings
from postloan.db import unit_of_work
from postloan.inspections import service as inspections

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def client() -> TestClient:
    return TestClient(app, follow_redirects=False)


def login(c: TestClient, user: str, password: str, next_url: str = "/pages/") -> Any:
    return c.post("/pages/login", data={"username": user, "password": password, "next": next_url})


def seed_report(api: Any, database: str, account_manager: str = "am_li") -> dict[str, str]:
    """A customer and loan through the API, and a special inspection of it completed with a
    report (``finalize``, as the process's last step does)."""
    loan_id = new_loan(api, account_manager=account_manager)
    loan = api.get(f"/api/v1/loans/{loan_id}").json()
    with unit_of_work(database) as session:
        inspection = inspections.request(
            session, loan_id=loan_id, kind="special", reason="Pages test", actor="tests"
        )
        inspection_id = inspection.id
        inspections.finalize(
            session,
            inspection_id,
            inspections.InspectionOutcome(
                inspector=account_manager,
                findings_text="Workshop visited; stock matches the ledger.",
                conclusion="satisfactory",
                reviewer="po_chen",
                review_decision="approve",
                review_comment="Evidence complete.",
                risk_class="special_mention",
                risk_class_reason="pages test",
            ),
            actor="tests",
        )
    return {"loan_id": loan_id, "customer_id": loan["customer_id"], "inspection_id": inspection_id}


@pytest.fixture(scope="module")
def seeded(api: Any, database: str) -> dict[str, str]:
    return seed_report(api, database)


# -- formatting (no engine) ---------------------------------------------------------------------


def test_dates_times_amounts_and_codes_read_in_words():
    assert fmt.day("2025-11-12") == "12 November 2025"
    assert fmt.day(date(2026, 1, 5)) == "5 January 2026"
    # Stored UTC; the pages' time zone (config/labels.yaml: Asia/Shanghai) is named.
    assert fmt.moment("2025-11-12T09:30:00+00:00") == "12 November 2025, 17:30 CST"
    # A late-evening UTC time is already the next day in Shanghai.
    assert fmt.day("2025-11-12T20:00:00+00:00") == "13 November 2025"
    assert fmt.amount("1250000", "CNY") == "1,250,000.00 CNY"
    assert fmt.amount("999.5") == "999.50"
    assert fmt.word("risk_class", "special_mention") == "Special mention"
    assert fmt.word("check_code", "OVERDUE_90_PLUS") == "Overdue more than 90 days"
    assert fmt.word("inspection_kind", "special") == "Special inspection"
    # A code the labels do not know reads as itself, never disappears.
    assert fmt.word("risk_class", "brand_new_class") == "brand new class"
    assert fmt.day(None) == fmt.amount(None) == fmt.word("risk_class", None) == "—"


def test_every_risk_class_and_kind_of_the_domain_has_words():
    from postloan.classification.rules import CLASSES
    from postloan.inspections.models import InspectionKind

    missing = [c for c in CLASSES if c not in fmt.labels()["risk_class"]]
    missing += [k.value for k in InspectionKind if k.value not in fmt.labels()["inspection_kind"]]
    assert missing == []


def test_a_session_cookie_is_signed_and_expires():
    secret = "s3cret"
    now = time.time()
    good = page_session.PageSession("am_li", "viewer", "Li Wei", int(now) + 60)
    value = page_session.encode(good, secret)
    assert page_session.decode(value, secret, now) == good
    assert page_session.decode(value, secret, now + 61) is None  # expired
    assert page_session.decode(value, "another secret", now) is None
    payload, _, signature = value.partition(".")
    forged = page_session.encode(
        page_session.PageSession("am_li", "admin", "Li Wei", int(now) + 60), "guessed"
    )
    assert page_session.decode(f"{forged.partition('.')[0]}.{signature}", secret, now) is None
    assert page_session.decode("garbage", secret, now) is None


def test_groups_map_to_the_strongest_api_role():
    roles = get_settings().page_roles_by_group
    assert page_session.role_of(["account-managers"], roles) == "viewer"
    assert page_session.role_of(["account-managers", "auditors"], roles) == "auditor"
    assert page_session.role_of(["vendors"], roles) is None
    assert page_session.role_of([], roles) is None


def test_after_login_only_a_path_of_this_server_is_followed():
    assert page_session.safe_next("/pages/inspections/INS-1") == "/pages/inspections/INS-1"
    for bad in ("https://evil.example/x", "//evil.example/x", "/\\evil", "javascript:x", ""):
        assert page_session.safe_next(bad) == "/pages/"


# -- Swagger UI and ReDoc offline (no engine) ---------------------------------------------------


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_load_their_scripts_and_styles_from_the_app_itself(path):
    c = client()
    page = c.get(path)
    assert page.status_code == 200
    # No other host anywhere in the page: no CDN, no web fonts, no validator badge.
    assert re.findall(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page.text) == []
    # The browser is told to load nothing from elsewhere either (ReDoc's bundle would).
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert any(a.endswith(".js") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        r = c.get(asset)
        assert r.status_code == 200 and len(r.content) > 100, asset
    if path == "/docs":
        assert any(a.endswith(".css") for a in assets)
        assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    assert c.get("/openapi.json").status_code == 200
    assert c.get("/static/swagger-ui/LICENSE").status_code == 200
    assert c.get("/static/redoc/LICENSE").status_code == 200


# -- login with the engine's users --------------------------------------------------------------


def test_login_page_is_a_form_that_remembers_where_to_go(provisioned):
    page = client().get("/pages/login", params={"next": "/pages/customers/C-1/dossier"})
    assert page.status_code == 200
    assert '<form method="post" action="/pages/login"' in page.text
    assert 'value="/pages/customers/C-1/dossier"' in page.text
    assert 'type="password"' in page.text


def test_login_success_sets_a_signed_httponly_samesite_short_cookie_and_goes_back(
    provisioned, seeded
):
    c = client()
    target = f"/pages/inspections/{seeded['inspection_id']}"
    r = login(c, "am_li", "demo-am-li", target)
    assert r.status_code == 303 and r.headers["location"] == target
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{page_session.COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    minutes = get_settings().page_session_minutes
    assert f"Max-Age={minutes * 60}" in cookie
    value = c.cookies[page_session.COOKIE]
    session = page_session.decode(value, get_settings().page_session_secret.get_secret_value())
    assert session is not None and (session.user, session.role) == ("am_li", "viewer")
    assert session.name == "Li Wei"
    assert abs(session.expires - (time.time() + minutes * 60)) < 60
    page = c.get(target, headers=BROWSER)
    assert page.status_code == 200 and "Post-loan inspection report" in page.text
    assert "Li Wei" in page.text  # who is signed in


def test_a_wrong_password_or_unknown_user_is_refused_without_a_cookie(provisioned):
    c = client()
    for user, password in (("sv_ma", "not-the-password"), ("nobody-at-all", "x")):
        r = login(c, user, password, "/pages/")
        assert r.status_code == 401, (user, r.text)
        assert "set-cookie" not in r.headers
        assert "Unknown user or wrong password" in r.text
    assert page_session.COOKIE not in c.cookies
    r = login(c, "am_li", "", "/pages/")
    assert r.status_code == 422 and "set-cookie" not in r.headers


def test_a_person_whose_groups_give_no_role_cannot_sign_in(provisioned):
    r = login(client(), "vd_fieldco", "demo-vd-fieldco")
    assert r.status_code == 403 and "set-cookie" not in r.headers
    assert "vendors" in r.text


def test_an_expired_or_tampered_cookie_is_no_session(provisioned, seeded):
    secret = get_settings().page_session_secret.get_secret_value()
    target = f"/pages/inspections/{seeded['inspection_id']}"
    expired = page_session.encode(
        page_session.PageSession("am_li", "viewer", "Li Wei", int(time.time()) - 1), secret
    )
    forged = page_session.encode(
        page_session.PageSession("am_li", "admin", "Li Wei", int(time.time()) + 600), "guess"
    )
    for value in (expired, forged):
        c = client()
        c.cookies.set(page_session.COOKIE, value)
        r = c.get(target, headers=BROWSER)
        assert r.status_code == 303 and r.headers["location"].startswith("/pages/login?next=")
        r = c.get(target, headers={"Accept": "application/json"})
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def test_logout_ends_the_session(provisioned, seeded):
    c = client()
    assert login(c, "po_chen", "demo-po-chen").status_code == 303
    target = f"/pages/customers/{seeded['customer_id']}/dossier"
    assert c.get(target, headers=BROWSER).status_code == 200
    r = c.post("/pages/logout")
    assert r.status_code == 303 and r.headers["location"] == "/pages/login"
    assert page_session.COOKIE not in c.cookies
    assert c.get(target, headers=BROWSER).status_code == 303


def test_a_browser_without_a_session_is_sent_to_the_login_and_back(provisioned, seeded):
    c = client()
    for path in (
        f"/pages/inspections/{seeded['inspection_id']}",
        f"/pages/customers/{seeded['customer_id']}/dossier",
        f"/api/v1/inspections/{seeded['inspection_id']}/report.html",
    ):
        r = c.get(path, headers=BROWSER)
        assert r.status_code == 303, path
        location = urlsplit(r.headers["location"])
        assert location.path == "/pages/login"
        assert parse_qs(location.query)["next"] == [path]
        # An API client (no HTML wanted) gets the API's 401, not a redirect.
        r = c.get(path, headers={"Accept": "application/json"})
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def test_bearer_callers_are_unaffected(provisioned, seeded, api_keys):
    c = client()
    path = f"/api/v1/inspections/{seeded['inspection_id']}/report.html"
    for role, status in (
        ("integrator", 200),
        ("viewer", 200),
        ("auditor", 200),
        ("vendor:V001", 403),
    ):
        r = c.get(path, headers={"Authorization": f"Bearer {api_keys[role]}", **BROWSER})
        assert r.status_code == status, (role, r.text[:200])
    page = f"/pages/customers/{seeded['customer_id']}/dossier"
    r = c.get(page, headers={"Authorization": f"Bearer {api_keys['viewer']}"})
    assert r.status_code == 200 and "Credit dossier" in r.text
    assert "test-viewer (API key)" in r.text and "Sign out" not in r.text  # no session to end
    r = c.get(page, headers={"Authorization": "Bearer not-a-key", **BROWSER})
    assert r.status_code == 401  # a wrong key is an API client's error, never a login page
    # The JSON API with a key, as before.
    r = c.get(
        f"/api/v1/inspections/{seeded['inspection_id']}",
        headers={"Authorization": f"Bearer {api_keys['viewer']}"},
    )
    assert r.status_code == 200 and r.json()["status"] == "completed"


def test_a_session_has_the_roles_of_the_json_api_and_never_writes(provisioned, seeded):
    am = client()
    assert login(am, "am_li", "demo-am-li").status_code == 303
    auditor = client()
    assert login(auditor, "au_sun", "demo-au-sun").status_code == 303
    # The audit trail is for auditors: an account manager (viewer) is refused, as a viewer key is.
    r = am.get("/api/v1/audit-events", headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert auditor.get("/api/v1/audit-events").status_code == 200
    assert am.get("/api/v1/vendors/V001/assignments").status_code == 403
    # Reads a viewer may do, the account manager may do too.
    assert am.get(f"/api/v1/loans/{seeded['loan_id']}").status_code == 200
    # A cookie never authorizes a write (cross-site requests carry cookies).
    r = am.post("/api/v1/inspections", json={"loan_id": seeded["loan_id"], "reason": "x"})
    assert r.status_code == 401


# -- the pages' content -------------------------------------------------------------------------


def test_the_report_page_puts_dates_amounts_and_codes_in_words(provisioned, seeded, api_keys):
    c = client()
    assert login(c, "am_li", "demo-am-li").status_code == 303
    page = c.get(f"/pages/inspections/{seeded['inspection_id']}", headers=BROWSER)
    assert page.status_code == 200
    text = page.text
    assert "500,000.00 CNY" in text and "500000.00" not in text
    assert "Special inspection" in text
    assert "Satisfactory (no concerns)" in text and "Approved" in text
    assert fmt.day(date.today()).split(" ", 1)[1] in text  # "<month> <year>" of completion
    assert re.search(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} CST", text)  # a time with its zone
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", text)  # no raw timestamp
    assert "Flow Test Co" in text  # the customer's name, not only its id
    # The old path shows the same page to an API key.
    same = c.get(
        f"/api/v1/inspections/{seeded['inspection_id']}/report.html",
        headers={"Authorization": f"Bearer {api_keys['viewer']}"},
    )
    assert same.status_code == 200 and "500,000.00 CNY" in same.text
    # Print-friendly, and nothing from elsewhere.
    assert "@media print" in text and not re.search(r"(src|href)=\"(https?:)?//", text)


def test_the_dossier_page_lists_loans_class_and_inspections_in_words(provisioned, seeded):
    c = client()
    assert login(c, "cm_liu", "demo-cm-liu").status_code == 303
    page = c.get(f"/pages/customers/{seeded['customer_id']}/dossier", headers=BROWSER)
    assert page.status_code == 200
    text = page.text
    assert seeded["loan_id"] in text and "500,000.00 CNY" in text
    assert "Micro enterprise" in text  # the segment in words
    assert "Normal" in text  # the loan's class
    assert f'href="/pages/inspections/{seeded["inspection_id"]}"' in text
    assert "Open early-warning signals" in text and "Restrictions" in text
    assert fmt.day(date.today()) in text  # assembled today, in words
    assert "micro" not in re.sub(r"<[^>]+>", "", text).replace("Micro", "")


def test_unknown_ids_and_reports_not_yet_written_are_clear_errors(provisioned, api, database):
    c = client()
    assert login(c, "am_li", "demo-am-li").status_code == 303
    r = c.get("/pages/customers/NO-SUCH-CUSTOMER/dossier")
    assert r.status_code == 404 and r.json()["field"] == "customer_id"
    r = c.get("/pages/inspections/INS-NOPE")
    assert r.status_code == 404
    loan_id = new_loan(api, account_manager="am_li")
    with unit_of_work(database) as session:
        open_one = inspections.request(
            session, loan_id=loan_id, kind="special", reason="not done", actor="tests"
        )
        open_id = open_one.id
    # The report's own path says there is none yet; a browser reads that as a page.
    old_path = f"/api/v1/inspections/{open_id}/report.html"
    r = c.get(old_path, headers={"Accept": "application/json"})
    assert r.status_code == 409 and "no report yet" in r.json()["detail"]
    r = c.get(old_path, headers=BROWSER)
    assert r.status_code == 409 and r.headers["content-type"].startswith("text/html")
    assert "Not available yet" in r.text and "no report yet" in r.text
    # The page Tasklist's forms link to shows the inspection as recorded so far.
    r = c.get(f"/pages/inspections/{open_id}", headers=BROWSER)
    assert r.status_code == 200
    assert "Post-loan inspection (under way)" in r.text and "Not a report yet" in r.text
    assert "500,000.00 CNY" in r.text and "Special inspection" in r.text
    assert "Post-loan inspection report" not in r.text
    r = c.get("/pages/customers/NO-SUCH-CUSTOMER/dossier", headers=BROWSER)
    assert r.status_code == 404 and "customer NO-SUCH-CUSTOMER does not exist" in r.text
