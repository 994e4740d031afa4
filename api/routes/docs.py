"""`/docs` (Swagger UI) and `/redoc` with every asset served by the service itself.

FastAPI's own pages load Swagger UI and ReDoc from a public CDN, so on a puskesmas
server without internet they are blank. The `fastapi-offline` package ships the same
files (Swagger UI under Apache-2.0, ReDoc under MIT, their licence notices inside the
files); we serve them from its package directory and write the two small pages here.

Neither page has inline script: Swagger UI is started by a tiny script served from
`/docs/swagger-init.js`, and ReDoc starts itself from its `<redoc>` element. So the
Content-Security-Policy can say `script-src 'self'`. Both libraries write styles at run
time (ReDoc through styled-components, Swagger UI through style attributes), which is
the one thing allowed inline. Like FastAPI's defaults, these pages and `/openapi.json`
need no sign-in: they describe the API, and every operation still needs its token.
"""

from __future__ import annotations

import html
import json
from importlib.resources import files

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"

# 'self' only; styles may also be written by the libraries' own scripts (see above);
# images include the data: URIs in Swagger UI's stylesheet; ReDoc's search runs in a
# worker made from a blob.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


def install_docs(app: FastAPI) -> None:
    """The app must be made with docs_url=None and redoc_url=None (FastAPI's CDN pages)."""
    app.mount(ASSETS_URL, StaticFiles(directory=str(files("fastapi_offline") / "static")),
              name="docs-assets")
    app.include_router(router)


def _page(body: str, *, title: str, head: str = "") -> HTMLResponse:
    page = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title>"
            f'<link rel="icon" type="image/png" href="{ASSETS_URL}/favicon.png">{head}</head>'
            f"<body>{body}</body></html>")
    return HTMLResponse(page, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY,
                                       "X-Content-Type-Options": "nosniff",
                                       "Referrer-Policy": "no-referrer"})


def _root(request: Request) -> str:
    return request.scope.get("root_path", "")


@router.get(DOCS_URL)
def swagger_ui(request: Request) -> HTMLResponse:
    root = _root(request)
    return _page(
        f'<div id="swagger-ui"></div>'
        f'<script src="{root}{ASSETS_URL}/swagger-ui-bundle.js"></script>'
        f'<script src="{root}{DOCS_URL}/swagger-init.js"></script>',
        title=f"{request.app.title} - Swagger UI",
        head=f'<link rel="stylesheet" href="{root}{ASSETS_URL}/swagger-ui.css">')


@router.get(f"{DOCS_URL}/swagger-init.js")
def swagger_init(request: Request) -> Response:
    root = _root(request)
    parameters = {"dom_id": "#swagger-ui", "layout": "BaseLayout", "deepLinking": True,
                  "showExtensions": True, "showCommonExtensions": True,
                  **(request.app.swagger_ui_parameters or {}),
                  "url": f"{root}{request.app.openapi_url}",
                  "oauth2RedirectUrl": f"{root}{OAUTH2_REDIRECT_URL}"}
    script = (f"window.ui = SwaggerUIBundle(Object.assign({json.dumps(parameters)}, "
              "{presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]}));\n")
    return Response(script, media_type="text/javascript",
                    headers={"X-Content-Type-Options": "nosniff"})


@router.get(OAUTH2_REDIRECT_URL)
def swagger_oauth2_redirect() -> HTMLResponse:
    # FastAPI's page (inline script, no external asset); only OAuth2 redirect flows use it.
    response = get_swagger_ui_oauth2_redirect_html()
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'unsafe-inline'; base-uri 'none'; "
        "frame-ancestors 'none'")
    return response


@router.get(REDOC_URL)
def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    spec_url = html.escape(f"{root}{request.app.openapi_url}", quote=True)
    return _page(
        f'<redoc spec-url="{spec_url}"></redoc>'
        f'<script src="{root}{ASSETS_URL}/redoc.standalone.js"></script>',
        title=f"{request.app.title} - ReDoc")
