"""Who is calling an OpenRosa endpoint: a device token in the URL, or HTTP Basic."""

from __future__ import annotations

from fastapi import Request
from sqlmodel import Session

from api import login_guard
from api.credentials import authorization, basic_credentials
from api.deps import ReadSessionDep
from core.errors import InvalidInput, Unauthenticated
from sync import accounts
from sync.accounts import Principal

BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="posyandu-sync", charset="UTF-8"'}


async def mark_openrosa(request: Request) -> None:
    """Errors on these routes render as OpenRosaResponse XML; 401s challenge for Basic
    (Collect only sends credentials after a challenge)."""
    request.scope["openrosa"] = True
    request.scope["auth_challenge"] = BASIC_CHALLENGE


def check_openrosa_version(request: Request, *, required: bool) -> None:
    """The one X-OpenRosa-Version rule for every OpenRosa endpoint.

    A value other than 1.0 is refused on every path (400 openrosa.version_unsupported:
    a client speaking another OpenRosa would misread our answers). A missing header is
    accepted on the GETs (formList, form.xml, manifest, media: reads that answer the
    same whoever asks, so a browser, curl or an exporter may fetch them), and refused
    on HEAD/POST /submission (400 openrosa.version_missing), where the Form Submission
    API says submissions MUST carry the OpenRosa Request headers. ODK Collect and
    KoboCollect send `X-OpenRosa-Version: 1.0` on every request.
    """
    version = request.headers.get("X-OpenRosa-Version")
    if version is None:
        if required:
            raise InvalidInput("Send the header X-OpenRosa-Version: 1.0 (OpenRosa clients do).",
                               code="openrosa.version_missing")
        return
    if version.strip() != "1.0":
        raise InvalidInput(f"OpenRosa version {version!r} is not supported; use 1.0.",
                           code="openrosa.version_unsupported")


async def accept_openrosa_version(request: Request) -> None:
    """The GETs: the header may be missing, but not wrong (check_openrosa_version)."""
    check_openrosa_version(request, required=False)


async def require_openrosa_version(request: Request) -> None:
    """HEAD/POST /submission: the header must be there, and 1.0 (check_openrosa_version)."""
    check_openrosa_version(request, required=True)


def authenticate(request: Request, session: Session) -> Principal:
    """The caller of an OpenRosa request (for handlers that manage their transaction)."""
    token = request.path_params.get("token")
    if token is not None:
        return accounts.principal_from_app_token(session, token)
    scheme, value = authorization(request.headers.get("Authorization", ""))
    if scheme != "basic" or not value:
        raise Unauthenticated("Sign in with your username and password.", code="auth.missing")
    credentials = basic_credentials(value)
    if credentials is None:
        raise Unauthenticated("Malformed Basic credentials.", code="auth.bad_basic")
    user = login_guard.verify_password(request, session, *credentials, basic=True)
    return accounts.principal_for(session, user)


def openrosa_principal(request: Request, session: ReadSessionDep) -> Principal:
    return authenticate(request, session)


def url_prefix(request: Request) -> str:
    """The path prefix this request came in on (`/key/{token}` or nothing)."""
    token = request.path_params.get("token")
    return f"/key/{token}" if token is not None else ""
