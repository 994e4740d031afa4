"""Accounts: their scopes and device tokens."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlmodel import Session

from core.statements import Branch, EachOf, Prepared
from models import AppToken, Posyandu, User, UserScope

_USER = User.__table__
_USER_SCOPE = UserScope.__table__
_POSYANDU = Posyandu.__table__
_SCOPE_POSYANDU = _POSYANDU.alias("scope_posyandu")
_APP_TOKEN = AppToken.__table__

_SCOPE_ROWS = (
    select(_USER_SCOPE.c.wilayah_code, _USER_SCOPE.c.posyandu_id, _POSYANDU.c.kelurahan_code)
    .join(_POSYANDU, _POSYANDU.c.id == _USER_SCOPE.c.posyandu_id, isouter=True)
    .where(_USER_SCOPE.c.user_id == bindparam("user_id")))
# A device token, its account and the account's scope rows in one query (it runs on
# every OpenRosa request): one row per scope entry, or one row with NULLs for none.
_APP_TOKEN_ROWS = (
    select(_APP_TOKEN.c.id, _APP_TOKEN.c.revoked_at,
           _USER.c.id.label("user_id"), _USER.c.username, _USER.c.role,
           _USER.c.agency, _USER.c.is_active, _USER.c.nik_full,
           _USER_SCOPE.c.wilayah_code, _USER_SCOPE.c.posyandu_id,
           _SCOPE_POSYANDU.c.kelurahan_code, _APP_TOKEN.c.token_hash)
    .join(_USER, _USER.c.id == _APP_TOKEN.c.user_id)
    .outerjoin(_USER_SCOPE, _USER_SCOPE.c.user_id == _USER.c.id)
    .outerjoin(_SCOPE_POSYANDU, _SCOPE_POSYANDU.c.id == _USER_SCOPE.c.posyandu_id))
_APP_TOKEN_BY_HASH = Prepared(_APP_TOKEN_ROWS.where(_APP_TOKEN.c.token_hash == bindparam("token_hash")))
# A writer group's tokens: compiled once, the token index probed per hash (core.statements.EachOf).
_APP_TOKENS_BY_HASH = EachOf(Branch(lambda match: _APP_TOKEN_ROWS.where(match(_APP_TOKEN.c.token_hash))),
                             name="hashes")


def scope_rows(session: Session, user_id: int) -> list:
    """(wilayah_code, posyandu_id, the posyandu's kelurahan_code) per scope entry."""
    return session.execute(_SCOPE_ROWS, {"user_id": user_id}).all()


def app_token_rows(session: Session, token_hash: str) -> list:
    """The token's rows (one per scope entry of its account); [] for an unknown token."""
    return _APP_TOKEN_BY_HASH.all(session, {"token_hash": token_hash})


def app_token_rows_of(session: Session, token_hashes: set[str]) -> dict[str, list]:
    """app_token_rows of several tokens in one query: {hash: rows}."""
    rows: dict[str, list] = {digest: [] for digest in token_hashes}
    for row in _APP_TOKENS_BY_HASH.all(session, {"hashes": sorted(token_hashes)}):
        rows[row.token_hash].append(row)
    return rows
