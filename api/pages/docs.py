"""Swagger UI at ``/docs`` and ReDoc at ``/redoc`` from the package's own files (offline).

FastAPI's defaults load both from a CDN: without internet ``/docs`` is blank. The bundles are
vendored under ``api/static/`` (versions and licences in ``api/static/README.md``) and served at
``/static/``; the pages name no other host (no web fonts, no validator badge, our own favicon).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.pages.render import STATIC

STATIC_PATH = "/static"
SWAGGER_JS = f"{STATIC_PATH}/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = f"{STATIC_PATH}/swagger-ui/swagger-ui.css"
REDOC_JS = f"{STATIC_PATH}/redoc/redoc.standalone.js"
FAVICON = f"{STATIC_PATH}/swagger-ui/favicon-32x32.png"
#: The browser may load nothing from another host (ReDoc's bundle would fetch its vendor's logo
#: from a CDN; the policy stops that before any request, and the logo's link is hidden).
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' blob:; worker-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'self'"
)
HIDE_VENDOR_LOGO = '<style>a[href*="redocly.com"] img { display: none; }</style>'


def _offline(response: HTMLResponse, extra_head: str = "") -> HTMLResponse:
    body = bytes(response.body).decode("utf-8")
    if extra_head:
        body = body.replace("</head>", f"{extra_head}</head>", 1)
    return HTMLResponse(body, headers={"Content-Security-Policy": CSP})


def install(app: FastAPI) -> None:
    """``app`` must be created with ``docs_url=None, redoc_url=None`` (no CDN pages)."""
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="static")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def swagger_ui() -> HTMLResponse:
        return _offline(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} · Swagger UI",
                swagger_js_url=SWAGGER_JS,
                swagger_css_url=SWAGGER_CSS,
                swagger_favicon_url=FAVICON,
                # No badge that sends the document to the public validator.
                swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
            )
        )

    @app.get("/redoc", include_in_schema=False, response_class=HTMLResponse)
    def redoc() -> HTMLResponse:
        return _offline(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} · ReDoc",
                redoc_js_url=REDOC_JS,
                redoc_favicon_url=FAVICON,
                with_google_fonts=False,
            ),
            HIDE_VENDOR_LOGO,
        )
