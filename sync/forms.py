"""Published XForms: publishing the built-in forms, looking versions up, form state."""

from __future__ import annotations

import hashlib

from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from core.errors import Conflict, InvalidInput, NotFound
from models import FormVersion


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def publish(session: Session, *, form_id: str, version: str, title: str, xml: bytes,
            media: list[str]) -> bool:
    """Publish a form version (idempotent). Returns True when it is new.

    Earlier versions stay, no longer current, so phones that have not updated yet can
    still submit to them.
    """
    if not version:
        raise InvalidInput(f"Form {form_id} has no version.", code="form.no_version")
    existing = session.exec(
        select(FormVersion).where(FormVersion.form_id == form_id, FormVersion.version == version)
    ).first()
    if existing is not None:
        if existing.md5 != md5_hex(xml):
            raise Conflict(
                f"Form {form_id} version {version} is already published with different "
                "content; give the changed form a new version.", code="form.version_conflict")
        return False
    session.exec(update(FormVersion).where(FormVersion.form_id == form_id).values(is_current=False))
    session.add(FormVersion(form_id=form_id, version=version, title=title, xml=xml,
                            md5=md5_hex(xml), media=",".join(media), is_current=True))
    session.flush()
    return True


def publish_builtin_forms(session: Session) -> list[str]:
    """Build the XLSForms under clients/kobo_forms and publish any new version."""
    from clients.kobo_forms.build import FORM_IDS, build_xform

    published = []
    for form_id in FORM_IDS:
        built = build_xform(form_id)
        if publish(session, form_id=built.form_id, version=built.version, title=built.title,
                   xml=built.xml, media=list(built.media)):
            published.append(f"{built.form_id} v{built.version}")
    return published


def get_form_version(session: Session, form_id: str, version: str) -> FormVersion | None:
    return session.exec(select(FormVersion).where(FormVersion.form_id == form_id,
                                                  FormVersion.version == version)).first()


def current_forms(session: Session) -> list[FormVersion]:
    return list(session.exec(
        select(FormVersion).where(FormVersion.is_current, FormVersion.state != "closed")
        .order_by(FormVersion.form_id)).all())


def get_current_form_or_raise(session: Session, form_id: str) -> FormVersion:
    row = session.exec(
        select(FormVersion).where(FormVersion.form_id == form_id, FormVersion.is_current)
    ).first()
    if row is None:
        raise NotFound(f"There is no form {form_id!r} on this server.", code="form.not_found")
    return row


_CURRENT_VERSION = select(FormVersion.__table__.c.version).where(
    FormVersion.__table__.c.form_id == bindparam("form_id"), FormVersion.__table__.c.is_current)


def current_version_or_raise(session: Session, form_id: str) -> str:
    """The current version of a form (without loading its XML)."""
    version = session.execute(_CURRENT_VERSION, {"form_id": form_id}).scalar()
    if version is None:
        raise NotFound(f"There is no form {form_id!r} on this server.", code="form.not_found")
    return version


def version_not_found(session: Session, form_id: str, version: str) -> NotFound:
    """The 404 for a submission to a form version this server does not have, telling an
    unknown form from an outdated or unknown version."""
    known = session.exec(select(FormVersion.id).where(FormVersion.form_id == form_id)).first()
    if known is None:
        return NotFound(f"There is no form {form_id!r} on this server.", code="form.not_found")
    return NotFound(f"Form {form_id!r} has no version {version!r} on this server; download "
                    "the current form and fill it again.", code="form.version_not_found")


def set_form_state(session: Session, *, form_id: str, state: str) -> FormVersion:
    if state not in ("open", "closing", "closed"):
        raise InvalidInput("A form state is open, closing or closed.", code="form.bad_state")
    row = get_current_form_or_raise(session, form_id)
    session.exec(update(FormVersion).where(FormVersion.form_id == form_id).values(state=state))
    session.refresh(row)
    return row
