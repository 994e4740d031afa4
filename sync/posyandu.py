"""Posyandu: creation and scoped listing."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models import Posyandu
from sync.accounts import Principal, record_audit
from sync.scope import scope_filter
from sync.wilayah import get_kelurahan_or_raise


def create_posyandu(session: Session, *, principal: Principal, kelurahan_code: str, name: str,
                    rw: str | None = None) -> Posyandu:
    name = name.strip()
    if not name:
        raise InvalidInput("A posyandu needs a name.", code="posyandu.no_name")
    get_kelurahan_or_raise(session, kelurahan_code)
    if not principal.scope.covers_kelurahan(kelurahan_code):
        raise Forbidden(f"Kelurahan {kelurahan_code} is outside your scope.", code="auth.scope")
    row = Posyandu(kelurahan_code=kelurahan_code, name=name, rw=rw)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:
        raise Conflict(f"Kelurahan {kelurahan_code} already has a posyandu named {name!r}.",
                       code="posyandu.exists") from exc
    record_audit(session, actor_id=principal.user_id, action="posyandu.create",
                 entity_type="posyandu", entity_id=str(row.id),
                 detail={"kelurahan_code": kelurahan_code, "name": name})
    return row


def scoped_posyandu_query(principal: Principal):
    return select(Posyandu).where(scope_filter(principal.scope, Posyandu.kelurahan_code, Posyandu.id))


def list_posyandu(session: Session, *, principal: Principal, kelurahan_code: str | None,
                  limit: int, offset: int) -> tuple[list[Posyandu], int]:
    query = scoped_posyandu_query(principal)
    if kelurahan_code:
        query = query.where(Posyandu.kelurahan_code == kelurahan_code)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Posyandu.id).limit(limit).offset(offset)).all()
    return list(rows), total



def get_posyandu_or_raise(session: Session, posyandu_id: int) -> Posyandu:
    row = session.get(Posyandu, posyandu_id)
    if row is None:
        raise NotFound(f"No posyandu {posyandu_id}.", code="posyandu.not_found")
    return row


def update_posyandu(session: Session, *, principal: Principal, posyandu_id: int,
                    name: str | None = None, is_active: bool | None = None) -> Posyandu:
    """Rename a posyandu or switch it off (or on). An inactive posyandu takes no new
    submissions and no new kaders; what it holds stays. One outside the caller's scope
    is answered as not found, like one that does not exist."""
    row = get_posyandu_or_raise(session, posyandu_id)
    if not principal.scope.covers_kelurahan(row.kelurahan_code):  # as create_posyandu
        raise NotFound(f"No posyandu {posyandu_id}.", code="posyandu.not_found")
    changes: dict = {}
    if name is not None:
        name = name.strip()
        if not name:
            raise InvalidInput("A posyandu needs a name.", code="posyandu.no_name")
        if name != row.name:
            changes["name"] = name
    if is_active is not None and is_active != row.is_active:
        changes["is_active"] = is_active
    if not changes:
        return row
    if "name" in changes and session.exec(select(Posyandu.id).where(
            Posyandu.kelurahan_code == row.kelurahan_code, Posyandu.name == name)).first():
        raise Conflict(f"Kelurahan {row.kelurahan_code} already has a posyandu named {name!r}.",
                       code="posyandu.exists")
    for key, value in changes.items():
        setattr(row, key, value)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # a rename racing another to the same name
        raise Conflict(f"Kelurahan {row.kelurahan_code} already has a posyandu named {name!r}.",
                       code="posyandu.exists") from exc
    record_audit(session, actor_id=principal.user_id, action="posyandu.update",
                 entity_type="posyandu", entity_id=str(row.id), detail=changes)
    return row
