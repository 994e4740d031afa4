"""SQLModel tables. Columns, constraints and indexes only; behaviour lives in sync/.

Importing this package registers every table on `SQLModel.metadata`, which Alembic
compares against the migrations.
"""

from sqlmodel import SQLModel

# Named constraints, so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from models.auth import AppToken, AuditLog, User, UserScope  # noqa: E402
from models.caseloads import (  # noqa: E402
    CASELOAD_AGGREGATE,
    CaseloadCase,
    CaseloadContribution,
    CaseloadTarget,
    Intervention,
    UserProgram,
)
from models.changes import ChangeLog, ServerSetting  # noqa: E402
from models.identity import DuplicatePair, IdentityDecision, RecordMerge  # noqa: E402
from models.intake import Attachment, FormVersion, KoboHook, Submission  # noqa: E402
from models.offline import EntityAction, SyncConflict, SyncDevice, SyncMutation  # noqa: E402
from models.records import (  # noqa: E402
    Measurement,
    Pregnancy,
    PregnancyScreening,
    SanitationCheck,
)
from models.recovery import LegalHold, SubmissionPurge  # noqa: E402
from models.registry import (  # noqa: E402
    Household,
    HouseholdVersion,
    Person,
    PersonVersion,
    Posyandu,
)
from models.security import AccessLog, AuthThrottle  # noqa: E402
from models.wilayah import Wilayah  # noqa: E402

__all__ = [
    "AccessLog",
    "AuthThrottle",
    "AppToken",
    "Attachment",
    "AuditLog",
    "CASELOAD_AGGREGATE",
    "CaseloadCase",
    "CaseloadContribution",
    "CaseloadTarget",
    "EntityAction",
    "ChangeLog",
    "DuplicatePair",
    "Intervention",
    "UserProgram",
    "FormVersion",
    "Household",
    "HouseholdVersion",
    "IdentityDecision",
    "KoboHook",
    "LegalHold",
    "Measurement",
    "Person",
    "PersonVersion",
    "Posyandu",
    "Pregnancy",
    "PregnancyScreening",
    "RecordMerge",
    "SanitationCheck",
    "SyncConflict",
    "SyncDevice",
    "SyncMutation",
    "ServerSetting",
    "Submission",
    "SubmissionPurge",
    "User",
    "UserScope",
    "Wilayah",
]
