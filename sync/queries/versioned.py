"""Statements shared by the versioned registry tables (person, household): the row,
its version snapshots, and the compare-and-set update that makes concurrent writers
safe."""

from __future__ import annotations

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.statements import Prepared


class VersionedTable:
    """A registry table with a `version` column and a table of version snapshots whose
    primary key is (entity id, version)."""

    def __init__(self, table: Table, versions: Table, version_key: str) -> None:
        self.table = table
        self.versions = versions
        self.version_key = version_key
        self._get = Prepared(select(table).where(table.c.id == bindparam("id")))
        self._lock = Prepared(select(table).where(table.c.id == bindparam("id")).with_for_update())
        # .inline(): no RETURNING of the new row's key (PostgreSQL would send it back unread).
        self._insert = Prepared(insert(table).inline())
        # Compare-and-set on the version read: with concurrent writers, an update
        # based on a version another transaction has since replaced matches no row,
        # and the version snapshot written after it then collides on the snapshot
        # table's primary key (that other transaction wrote the same number): the
        # writer learns it lost the race without a round trip of its own
        # (see is_version_race).
        self._update = Prepared(update(table).where(table.c.id == bindparam("_id"),
                                                    table.c.version == bindparam("_base")))
        self._insert_version = Prepared(insert(versions).inline())
        self._version_data = Prepared(select(versions.c.data).where(
            versions.c[version_key] == bindparam("id"), versions.c.version == bindparam("version")))
        self.pkey_names = {f"{versions.name}_pkey", f"pk_{versions.name}"}

    def get(self, session: Session, entity_id: str) -> dict | None:
        return self._get.mapping(session, {"id": entity_id})

    def get_for_update(self, session: Session, entity_id: str) -> dict | None:
        """The row, locked until the transaction ends (PostgreSQL; SQLite has one
        writer at a time anyway)."""
        return self._lock.mapping(session, {"id": entity_id})

    def insert(self, session: Session, row: dict) -> None:
        self._insert.defer(session, row)

    def update(self, session: Session, entity_id: str, base_version: int, values: dict) -> None:
        """Queued; matches nothing if the row is no longer at `base_version`."""
        self._update.defer(session, {**values, "_id": entity_id, "_base": base_version})

    def add_version(self, session: Session, values: dict) -> None:
        self._insert_version.defer(session, values)

    def version_data(self, session: Session, entity_id: str, version: int) -> dict | None:
        """The snapshot of one version, or None."""
        return self._version_data.scalar(session, {"id": entity_id, "version": version})

    def is_race(self, error: BaseException) -> bool:
        """Whether `error` is this table's lost race: a version snapshot that another
        transaction wrote first."""
        if not isinstance(error, IntegrityError):
            return False
        diag = getattr(error.orig, "diag", None)
        if diag is not None and getattr(diag, "constraint_name", None):
            return diag.constraint_name in self.pkey_names
        # SQLite: "UNIQUE constraint failed: person_version.person_id, person_version.version"
        return f"{self.versions.name}.version" in str(error.orig)
