"""Users, scopes, access tokens and per-device app tokens."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

import jwt
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core import security
from core.config import get_settings
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from models import AppToken, AuditLog, Posyandu, ServerSetting, User, UserScope, Wilayah
from models.auth import ROLES
from models.base import utcnow
from sync import throttle
from sync.queries import accounts as queries
from sync.scope import Scope, parse_scope_strings

JWT_SECRET_KEY = "jwt_secret"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, their role and scope, and the device token if any."""

    user_id: int
    username: str
    role: str
    scope: Scope
    agency: str | None = None
    app_token_id: int | None = None
    nik_full: bool = False  # an agency granted full NIKs (sync.minimise)


# ---------------------------------------------------------------- users

_USERNAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")


def get_user_by_username(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def get_user_by_username_or_raise(session: Session, username: str) -> User:
    user = get_user_by_username(session, username)
    if user is None:
        raise NotFound(f"No user named {username!r}.", code="user.not_found")
    return user


def get_user_by_id_or_raise(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.", code="user.not_found")
    return user


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    scopes: list[str] = (),
    agency: str | None = None,
    full_name: str | None = None,
    actor_id: int | None = None,
) -> User:
    username = username.strip()
    if not _USERNAME.fullmatch(username):
        raise InvalidInput("A username is 1-64 characters: letters a-z, digits and . _ @ - "
                           "(it goes into URLs, HTTP Basic and file names).",
                           code="user.bad_username")
    for label, value in (("agency", agency), ("full_name", full_name)):
        if value is not None and len(value) > 120:
            raise InvalidInput(f"{label} is at most 120 characters.", code="user.too_long")
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}.", code="user.bad_role")
    _check_new_password(password)
    if role == "agency" and not agency:
        raise InvalidInput("An agency user needs the agency's name (e.g. Dinas Kesehatan).", code="user.no_agency")
    try:
        codes, posyandu_ids = parse_scope_strings(list(scopes))
    except ValueError as exc:
        raise InvalidInput(str(exc), code="user.bad_scope") from exc
    if role != "admin" and not codes and not posyandu_ids:
        raise InvalidInput(
            "Every user except an admin needs a scope: a wilayah code (e.g. 33.75.01.1002) "
            "or posyandu:<id>.",
            code="user.no_scope",
        )
    for code in codes:
        if session.get(Wilayah, code) is None:
            raise InvalidInput(f"Unknown wilayah code {code!r}.", code="user.bad_scope")
    for pid in posyandu_ids:
        posyandu = session.get(Posyandu, pid)
        if posyandu is None:
            raise InvalidInput(f"Unknown posyandu id {pid}.", code="user.bad_scope")
        if not posyandu.is_active:
            raise Conflict(f"Posyandu {pid} ({posyandu.name}) is no longer active.",
                           code="posyandu.inactive")
    if get_user_by_username(session, username) is not None:
        raise Conflict(f"A user named {username!r} already exists.", code="user.exists")
    user = User(
        username=username,
        password_hash=security.hash_password(password),
        role=role,
        agency=agency,
        full_name=full_name,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A user named {username!r} already exists.", code="user.exists") from exc
    for code in codes:
        session.add(UserScope(user_id=user.id, wilayah_code=code))
    for pid in posyandu_ids:
        session.add(UserScope(user_id=user.id, posyandu_id=pid))
    session.flush()
    record_audit(session, actor_id=actor_id, action="user.create", entity_type="user",
                 entity_id=str(user.id), detail={"username": username, "role": role,
                                                 "scopes": list(scopes)})
    return user


def list_users(session: Session, *, limit: int, offset: int) -> tuple[list[User], int]:
    total = session.exec(select(func.count()).select_from(User)).one()
    users = session.exec(select(User).order_by(User.id).limit(limit).offset(offset)).all()
    return list(users), total




def usernames(session: Session, user_ids) -> dict[int, str]:
    """id -> username of the accounts named (for pages that say who did what)."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return dict(session.exec(select(User.id, User.username).where(User.id.in_(ids))).all())


def _scope_from_rows(role: str, rows) -> Scope:
    """A Scope from (wilayah_code, posyandu_id, posyandu's kelurahan_code) rows."""
    if role == "admin":
        return Scope(everything=True)
    return Scope(
        wilayah_codes=tuple(code for code, _, _ in rows if code),
        posyandu_ids=tuple(pid for _, pid, _ in rows if pid is not None),
        posyandu_kelurahan_codes=tuple(sorted({kel for _, pid, kel in rows if pid is not None})),
    )


def _scope_for(session: Session, user_id: int, role: str) -> Scope:
    rows = [] if role == "admin" else queries.scope_rows(session, user_id)
    return _scope_from_rows(role, rows)


def scope_of_user_id(session: Session, user_id: int | None) -> Scope:
    """The scope of an account by id (nothing for an unknown or deleted account)."""
    user = session.get(User, user_id) if user_id is not None else None
    return _scope_for(session, user.id, user.role) if user is not None else Scope()


def scope_of(session: Session, user: User) -> Scope:
    return _scope_for(session, user.id, user.role)


def principal_for(session: Session, user: User, app_token_id: int | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        scope=scope_of(session, user),
        agency=user.agency,
        app_token_id=app_token_id,
        nik_full=bool(user.nik_full),
    )


def count_admins(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User).where(User.role == "admin")).one()


def count_active_admins(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)
                        .where(User.role == "admin", User.is_active)).one()


def _end_sessions(session: Session, user: User) -> None:
    """Every JWT issued to the user so far stops working (they carry the old version)."""
    user.credential_version += 1
    session.add(user)


def update_user(session: Session, *, user: User, actor_id: int | None,
                is_active: bool | None = None, full_name: str | None = None,
                nik_full: bool | None = None) -> list[int]:
    """Change a user's name or switch the account off or on; returns the ids of the
    device tokens revoked. Disabling ends the account's sessions (credential_version)
    and revokes its device tokens at once; switching it on again revives neither.
    An admin cannot disable themself, nor anyone the last active admin."""
    if full_name is not None and len(full_name) > 120:
        raise InvalidInput("full_name is at most 120 characters.", code="user.too_long")
    revoked: list[int] = []
    if is_active is False and user.is_active:
        if actor_id is not None and actor_id == user.id:
            raise Forbidden("You cannot disable your own account; ask another admin.",
                            code="user.self_deactivate")
        if user.role == "admin" and count_active_admins(session) <= 1:
            raise Conflict(f"{user.username!r} is the last active admin; enable or create "
                           "another admin first.", code="user.last_admin")
    changes: dict = {}
    if full_name is not None and full_name != user.full_name:
        changes["full_name"] = full_name
        user.full_name = full_name.strip() or None
    if nik_full is not None and nik_full != user.nik_full:
        if nik_full and user.role != "agency":
            raise InvalidInput("Only agency accounts have NIKs masked; the others see them "
                               "already.", code="user.nik_full_not_agency")
        changes["nik_full"] = nik_full
        user.nik_full = nik_full
    if is_active is not None and is_active != user.is_active:
        changes["is_active"] = is_active
        user.is_active = is_active
        if not is_active:
            _end_sessions(session, user)
            revoked = revoke_app_tokens_of(session, user=user, actor_id=actor_id)
    session.add(user)
    session.flush()
    if changes:
        record_audit(session, actor_id=actor_id, action="user.update", entity_type="user",
                     entity_id=str(user.id), detail={**changes, "revoked_tokens": revoked})
    return revoked


def _check_new_password(password: str) -> None:
    if len(password) < 8:
        raise InvalidInput("A password needs at least 8 characters.", code="user.weak_password")


def reset_password(session: Session, *, user: User, password: str, actor_id: int | None) -> None:
    """An admin sets a user's password; the user's sessions end (device tokens, which
    are not passwords, stay)."""
    _check_new_password(password)
    user.password_hash = security.hash_password(password)
    _end_sessions(session, user)
    throttle.clear_account(session, username=user.username)  # the lock ends with the reset
    session.flush()
    record_audit(session, actor_id=actor_id, action="user.password_reset", entity_type="user",
                 entity_id=str(user.id), detail={})


def change_own_password(session: Session, *, user: User, current_password: str,
                        new_password: str) -> None:
    """A user changes their own password, proving the current one; their other sessions
    end (the caller gets a new token)."""
    if not security.verify_password(user.password_hash, current_password):
        raise InvalidInput("The current password is wrong.", code="auth.bad_current_password")
    if new_password == current_password:
        raise InvalidInput("The new password is the same as the current one.",
                           code="user.same_password")
    _check_new_password(new_password)
    user.password_hash = security.hash_password(new_password)
    _end_sessions(session, user)
    session.flush()
    record_audit(session, actor_id=user.id, action="user.password_change", entity_type="user",
                 entity_id=str(user.id), detail={})


# ---------------------------------------------------------------- passwords

_basic_cache: dict[str, tuple[float, int, int]] = {}
_basic_cache_lock = threading.Lock()


def authenticate_password(session: Session, username: str, password: str) -> User:
    """Check a username and password (argon2); raise Unauthenticated with one message."""
    user = get_user_by_username(session, username)
    if user is None:
        security.verify_nothing(password)
    if user is None or not security.verify_password(user.password_hash, password):
        raise Unauthenticated("Wrong username or password.", code="auth.bad_credentials")
    if not user.is_active:  # said only to whoever knows the password
        raise Forbidden(f"The account {username!r} is disabled.", code="user.inactive")
    return user


def authenticate_basic(session: Session, username: str, password: str) -> User:
    """HTTP Basic for OpenRosa: argon2 is deliberately slow, so a verified pair is
    remembered (as a SHA-256, in memory) for a short time, and only while the account's
    credential_version is the one it was verified with (a password change ends it).
    (The HTTP layer counts failures around this: api.login_guard.)"""
    user = cached_basic(session, username, password)
    if user is None:
        user = authenticate_password(session, username, password)
        remember_basic(user, username, password)
    return user


def cached_basic(session: Session, username: str, password: str) -> User | None:
    """The account, when this Basic pair was verified within the cache time."""
    key = security.sha256_hex(f"{username}\0{password}")
    with _basic_cache_lock:
        hit = _basic_cache.get(key)
    if hit and time.monotonic() - hit[0] < get_settings().basic_auth_cache_seconds:
        user = session.get(User, hit[1])
        if (user is not None and user.is_active and user.username == username
                and user.credential_version == hit[2]):
            return user
    return None


def remember_basic(user: User, username: str, password: str) -> None:
    key = security.sha256_hex(f"{username}\0{password}")
    with _basic_cache_lock:
        if len(_basic_cache) > 10_000:
            _basic_cache.clear()
        _basic_cache[key] = (time.monotonic(), user.id, user.credential_version)


# ---------------------------------------------------------------- JWT

# {database url: (the secret, when it was read)}. Re-read after SECRET_TTL seconds, and
# at once (at most once a second) when a token's signature does not match: a rotation
# (rotate_jwt_secret) reaches every worker within seconds without a restart.
_secret_cache: dict[str, tuple[str, float]] = {}
SECRET_TTL = 30.0


def jwt_secret(session: Session, *, fresh: bool = False) -> str:
    """The configured secret, else one generated on first run and kept in the database
    (so every API worker, on every machine, signs and checks with the same one)."""
    configured = get_settings().secret_key
    if configured:
        return configured
    bind = str(session.get_bind().url)
    cached = _secret_cache.get(bind)
    now = time.monotonic()
    if cached and now - cached[1] < (1.0 if fresh else SECRET_TTL):
        return cached[0]
    row = session.get(ServerSetting, JWT_SECRET_KEY, populate_existing=True)
    if row is None:
        try:
            with session.begin_nested():
                session.add(ServerSetting(key=JWT_SECRET_KEY, value=security.new_secret(48)))
        except IntegrityError:
            pass  # another worker created it first
        row = session.get(ServerSetting, JWT_SECRET_KEY)
    _secret_cache[bind] = (row.value, now)
    return row.value


def rotate_jwt_secret(session: Session, *, actor_id: int | None = None) -> None:
    """A new signing secret in the database: every access token issued so far stops
    working (everyone signs in again; device tokens and hook secrets are not JWTs and
    keep working). Refused when the secret comes from POSYANDU_SECRET_KEY."""
    if get_settings().secret_key:
        raise Conflict("The JWT secret comes from POSYANDU_SECRET_KEY: change it there and "
                       "restart the workers.", code="auth.secret_configured")
    row = session.get(ServerSetting, JWT_SECRET_KEY)
    if row is None:
        session.add(ServerSetting(key=JWT_SECRET_KEY, value=security.new_secret(48)))
    else:
        row.value = security.new_secret(48)
        session.add(row)
    session.flush()
    _secret_cache.pop(str(session.get_bind().url), None)
    record_audit(session, actor_id=actor_id, action="jwt_secret.rotate", entity_type="server",
                 entity_id=JWT_SECRET_KEY, detail={})


def issue_access_token(session: Session, user: User) -> str:
    settings = get_settings()
    return security.encode_access_token(
        subject=str(user.id),
        secret=jwt_secret(session),
        minutes=settings.access_token_minutes,
        extra={"role": user.role, "username": user.username, "cv": user.credential_version},
    )


def user_from_access_token(session: Session, token: str) -> User:
    try:
        try:
            claims = security.decode_access_token(token, jwt_secret(session))
        except jwt.InvalidSignatureError:
            # signed after a rotation this worker has not read yet? (else: forged)
            claims = security.decode_access_token(token, jwt_secret(session, fresh=True))
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("Your session has expired; sign in again.", code="auth.expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated("Invalid access token.", code="auth.bad_token") from exc
    user = session.get(User, int(claims["sub"])) if str(claims["sub"]).isdigit() else None
    if user is None or not user.is_active:
        raise Unauthenticated("This account no longer exists or is disabled.", code="auth.inactive")
    if claims.get("cv") != user.credential_version:
        raise Unauthenticated("This session ended when the password changed or the account "
                              "was disabled; sign in again.", code="auth.revoked")
    return user


# ---------------------------------------------------------------- app tokens

APP_TOKEN_KINDS = ("api", "cli", "qr")


def create_app_token(session: Session, *, user: User, label: str = "",
                     actor_id: int | None = None, kind: str = "api") -> tuple[AppToken, str]:
    """Create a per-device token; returns its row and the token itself (shown once;
    only its hash is kept). `kind` says how it was issued: 'qr' tokens are the ones a
    new QR code replaces (issue_qr_token)."""
    if kind not in APP_TOKEN_KINDS:
        raise ValueError(f"app token kind {kind!r} is not one of {APP_TOKEN_KINDS}")
    if not user.is_active:
        raise Forbidden(f"The account {user.username!r} is disabled; enable it first.",
                        code="user.inactive")
    token = security.new_secret(36)
    row = AppToken(user_id=user.id, token_hash=security.sha256_hex(token), label=label[:120],
                   kind=kind)
    session.add(row)
    session.flush()
    record_audit(session, actor_id=actor_id, action="app_token.create", entity_type="app_token",
                 entity_id=str(row.id), detail={"user": user.username, "label": label,
                                                "kind": kind})
    return row, token


def revoke_app_tokens_of(session: Session, *, user: User, actor_id: int | None,
                         kind: str | None = None, keep: int | None = None) -> list[int]:
    """Revoke the user's live device tokens (of one kind, if given; all but `keep`);
    returns the ids revoked."""
    query = select(AppToken).where(AppToken.user_id == user.id, AppToken.revoked_at.is_(None))
    if kind is not None:
        query = query.where(AppToken.kind == kind)
    if keep is not None:
        query = query.where(AppToken.id != keep)
    revoked = []
    for row in session.exec(query.order_by(AppToken.id)).all():
        revoke_app_token(session, token_id=row.id, actor_id=actor_id)
        revoked.append(row.id)
    return revoked


def issue_qr_token(session: Session, *, user: User, label: str, actor_id: int | None,
                   keep_existing: bool = False) -> tuple[AppToken, str, list[int]]:
    """A device token for a new Collect QR code. Unless `keep_existing`, the user's
    earlier QR tokens are revoked (a QR fetched twice, as PNG then JSON, would otherwise
    leave two live tokens); tokens made by hand (kind api/cli) stay. Returns the row,
    the token and the ids revoked."""
    row, token = create_app_token(session, user=user, label=label, actor_id=actor_id, kind="qr")
    revoked = [] if keep_existing else revoke_app_tokens_of(
        session, user=user, actor_id=actor_id, kind="qr", keep=row.id)
    return row, token, revoked


def revoke_app_token(session: Session, *, token_id: int, actor_id: int | None = None) -> AppToken:
    row = session.get(AppToken, token_id)
    if row is None:
        raise NotFound(f"No app token {token_id}.", code="app_token.not_found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        record_audit(session, actor_id=actor_id, action="app_token.revoke",
                     entity_type="app_token", entity_id=str(token_id), detail={})
    return row


def list_app_tokens(session: Session, user: User) -> list[AppToken]:
    return list(session.exec(select(AppToken).where(AppToken.user_id == user.id).order_by(AppToken.id)).all())


def app_token_rows(session: Session, tokens: list[str]) -> dict[str, list]:
    """Several device tokens looked up in one query, for units that share a transaction
    (sync.unit_of_work): {token: its rows}, for principal_from_app_token(rows=...)."""
    hashes = {token: security.sha256_hex(token) for token in tokens}
    found = queries.app_token_rows_of(session, set(hashes.values()))
    return {token: found[digest] for token, digest in hashes.items()}


def principal_from_app_token(session: Session, token: str, rows: list | None = None) -> Principal:
    """The phone's principal from its device token (one query for token, account and
    scope, unless `rows` holds them already; this runs on every OpenRosa request)."""
    if rows is None:
        rows = queries.app_token_rows(session, security.sha256_hex(token))
    if not rows:
        raise Unauthenticated("Unknown device token; ask your supervisor for a new QR code.",
                              code="auth.bad_app_token")
    row = rows[0]
    if row.revoked_at is not None:
        raise Forbidden("This device token has been revoked; ask your supervisor for a new QR code.",
                        code="auth.revoked_app_token")
    if not row.is_active:
        raise Forbidden("The account behind this device token is disabled.",
                        code="auth.app_token_account_disabled")
    scope = _scope_from_rows(row.role, [(r.wilayah_code, r.posyandu_id, r.kelurahan_code)
                                        for r in rows])
    return Principal(user_id=row.user_id, username=row.username, role=row.role, scope=scope,
                     agency=row.agency, app_token_id=row.id, nik_full=bool(row.nik_full))


# ---------------------------------------------------------------- audit

def record_audit(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: str,
    detail: dict,
    request_id: str | None = None,
) -> None:
    from core.logging import current_request_id

    session.add(
        AuditLog(
            actor_id=actor_id,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            detail=detail,
            request_id=request_id or current_request_id(),
        )
    )
