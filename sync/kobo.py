"""KoboToolbox REST Service intake: hooks with their own secret, and the mapping from
Kobo's JSON to the same pipeline as OpenRosa.

Kobo sends one JSON object per submission: answers keyed by group path
(`grp_child/child_name`), plus metadata (`_uuid`, `meta/instanceID`,
`_xform_id_string`, `_submission_time`, `_attachments`, ...). A hook belongs to one of
our forms (Kobo renames form ids to its asset uid on deployment).
"""

from __future__ import annotations

import hmac
import json
import uuid
from dataclasses import dataclass

from sqlmodel import Session, select

from clients.kobo_forms.build import FORM_IDS
from core import security
from core.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from models import KoboHook, User
from sync import accounts
from sync.forms import current_version_or_raise
from sync.intake import SUBMITTING_ROLES, IntakeResult, StoredSubmission, store_json
from sync.unit_of_work import Tx

# Kobo metadata that is not an answer and may change between retries.
_METADATA_PREFIXES = ("_", "__", "formhub/", "meta/")


def create_hook(session: Session, *, name: str, form_id: str, username: str,
                actor_id: int | None = None) -> tuple[KoboHook, str]:
    """Create a hook; returns it and its secret (shown once)."""
    name = name.strip()
    if not name:
        raise InvalidInput("A hook needs a name (e.g. the Kobo project it serves).",
                           code="kobo.no_name")
    if form_id not in FORM_IDS:
        raise InvalidInput(f"Form must be one of {', '.join(FORM_IDS)}.", code="kobo.bad_form")
    user = accounts.get_user_by_username_or_raise(session, username)
    if user.role not in SUBMITTING_ROLES:
        raise InvalidInput("The hook submits as a kader, supervisor or admin account.",
                           code="kobo.bad_user")
    secret = security.new_secret(32)
    hook = KoboHook(id=str(uuid.uuid4()), name=name, form_id=form_id,
                    secret_hash=security.sha256_hex(secret), submitter_id=user.id)
    session.add(hook)
    session.flush()
    accounts.record_audit(session, actor_id=actor_id, action="kobo_hook.create",
                          entity_type="kobo_hook", entity_id=hook.id,
                          detail={"name": name, "form_id": form_id, "submits_as": username})
    return hook, secret


def list_hooks(session: Session) -> list[KoboHook]:
    return list(session.exec(select(KoboHook).order_by(KoboHook.created_at)).all())


def authenticate_hook(session: Session, hook_id: str, secret: str | None) -> tuple[KoboHook, accounts.Principal]:
    hook = session.get(KoboHook, hook_id)
    if hook is None:
        raise NotFound("Unknown Kobo hook.", code="kobo.hook_not_found")
    if not secret:
        raise Unauthenticated("Send the hook secret (Basic password, Bearer token or "
                              "X-Hook-Secret header).", code="kobo.no_secret")
    if not hmac.compare_digest(hook.secret_hash, security.sha256_hex(secret)):
        raise Unauthenticated("Wrong hook secret.", code="kobo.bad_secret")
    if not hook.is_active:
        raise Forbidden("This Kobo hook is disabled.", code="kobo.hook_disabled")
    user = session.get(User, hook.submitter_id)
    if user is None or not user.is_active:
        raise Forbidden("The account this hook submits as is disabled.", code="kobo.user_disabled")
    return hook, accounts.principal_for(session, user)


def instance_id_of(payload: dict) -> str:
    uuid = payload.get("_uuid")
    instance_id = payload.get("meta/instanceID") or (
        f"uuid:{uuid}" if uuid and isinstance(uuid, str) else None)
    if not instance_id or not isinstance(instance_id, str):
        raise InvalidInput("The Kobo payload has neither meta/instanceID nor _uuid.",
                           code="kobo.no_instance_id")
    return instance_id


def answers_of(payload: dict) -> dict:
    """The answers only (what identifies the submission's content for idempotency)."""
    return {k: v for k, v in payload.items()
            if not k.startswith(_METADATA_PREFIXES) and not isinstance(v, (dict, list))}


@dataclass
class KoboSubmission:
    """A unit of work (sync.unit_of_work): one post of a KoboToolbox REST Service."""

    hook_id: str
    secret: str | None
    payload: object
    device_token: str | None = None

    def store(self, tx: Tx) -> StoredSubmission | IntakeResult:
        session = tx.session
        hook, principal = authenticate_hook(session, self.hook_id, self.secret)
        payload = self.payload
        if not isinstance(payload, dict):
            raise InvalidInput("The Kobo payload must be a JSON object.", code="kobo.bad_payload")
        deprecated = payload.get("meta/deprecatedID")
        return store_json(
            session, principal=principal, form_id=hook.form_id,
            form_version=current_version_or_raise(session, hook.form_id),
            instance_id=instance_id_of(payload), answers=answers_of(payload), source="kobo",
            deprecated_id=deprecated if isinstance(deprecated, str) else None,
            raw=json.dumps(payload, sort_keys=True, ensure_ascii=False).encode())
