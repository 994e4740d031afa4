"""Statements shared by the versioned registry tables (person, household): the row,
its version snapshots, and the compare-and-set update that makes concurrent writers
safe."""

from __future__ import annotations

from sqlalchemy import Table, bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.statements import Prepared
from models.base import one_of

# session.info: {(table, id): row} locked by lock_ahead and not asked for yet. It holds
# only rows nothing in this transaction has written since they were read: a write
# through this module drops the row; any other statement run through the Session or an
# ORM flush (writes this module does not see) or the end of the transaction drops them all.
_LOCKED_AHEAD = "posyandu.locked_ahead"
_AHEAD_CHUNK = 1000
# session.info: {table name: [(id, the row as this transaction wrote it), ...] in the
# order written}, kept only while a reader asked for it
# (`watch_writes`): sync.identity_ahead's group read of candidates sees this
# transaction's own writes through it. The end of the transaction drops it.
_WRITTEN = "posyandu.written_rows"


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
        writer at a time anyway). A row lock_ahead read (and nothing wrote since) is
        that row, with no round trip."""
        ahead = session.info.get(_LOCKED_AHEAD)
        if ahead:
            row = ahead.pop((self.table.name, entity_id), None)
            if row is not None:
                return row
        return self._lock.mapping(session, {"id": entity_id})

    def lock_ahead(self, session: Session, ids) -> None:
        """Lock these rows now, in one statement per thousand (by id, so two writers
        locking overlapping sets wait rather than deadlock), and keep each for the
        first get_for_update of it in this transaction. For a group of writes whose
        rows are known before they run (a push's updates): the same locks, taken
        together instead of one round trip each."""
        ids = sorted(set(ids))
        if not ids:
            return
        postgres = session.get_bind().dialect.name == "postgresql"
        found = session.info.pop(_LOCKED_AHEAD, {})  # still good: a read writes nothing
        for start in range(0, len(ids), _AHEAD_CHUNK):
            statement = (select(self.table).where(one_of(
                self.table.c.id, ids[start:start + _AHEAD_CHUNK], postgresql=postgres))
                .order_by(self.table.c.id).with_for_update())
            for row in session.execute(statement).mappings():
                found[(self.table.name, row["id"])] = dict(row)
        session.info[_LOCKED_AHEAD] = found  # after the reads (a Session statement drops it)

    def insert(self, session: Session, row: dict) -> None:
        self._wrote(session, row)
        self._insert.defer(session, row)

    def update(self, session: Session, entity_id: str, base_version: int, values: dict,
               row: dict) -> None:
        """Queued; matches nothing if the row is no longer at `base_version`. `row`: the
        whole row as it will be, with `values` (for `written`)."""
        self._wrote(session, row)
        self._update.defer(session, {**values, "_id": entity_id, "_base": base_version})

    def _wrote(self, session: Session, row: dict) -> None:
        """A row locked ahead is stale once written; a watcher gets the row as written."""
        ahead = session.info.get(_LOCKED_AHEAD)
        if ahead:
            ahead.pop((self.table.name, row["id"]), None)
        watched = session.info.get(_WRITTEN)
        if watched is not None:
            watched.setdefault(self.table.name, []).append((row["id"], dict(row)))

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


def watch_writes(session: Session) -> None:
    """From now until the transaction ends, keep the rows this module writes (`written`)."""
    session.info.setdefault(_WRITTEN, {})


def written(session: Session, table: str) -> list[tuple[str, dict]] | None:
    """[(id, row as written)] of `table` since `watch_writes`, in order, or None if
    nobody is watching. Writes by other means (an ORM flush,
    Session.execute) are not in it: a watcher must stop trusting it when those happen."""
    watched = session.info.get(_WRITTEN)
    return None if watched is None else watched.get(table, [])


def _forget_all(session: Session, *_) -> None:
    session.info.pop(_LOCKED_AHEAD, None)


def _stop_watching(session: Session, *_) -> None:
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_before_session_execute(orm_execute_state) -> None:
    _forget_all(orm_execute_state.session)


for _name in ("after_flush", "after_commit", "after_soft_rollback"):
    event.listen(Session, _name, _forget_all)
for _name in ("after_commit", "after_soft_rollback"):
    event.listen(Session, _name, _stop_watching)
