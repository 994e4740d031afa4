"""Group commit: submissions that wait together share a transaction, and one failing
submission in a group never changes another's outcome."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import text
from sqlmodel import Session

from core.errors import Forbidden, Unavailable
from sync.writer import SubmissionWriter
from tests.support import run_as_one_group


def _note(session: Session, label: str) -> None:
    session.execute(text("INSERT INTO server_setting (key, value) VALUES (:k, :v)"),
                    {"k": label, "v": "x"})


def _notes(db) -> set[str]:
    with Session(db) as s:
        return {k for (k,) in s.execute(text("SELECT key FROM server_setting WHERE key LIKE 'w-%'"))}


def test_a_failing_submission_is_redone_alone_and_the_others_are_kept(db):
    calls: list[tuple[str, bool]] = []

    def good(label):
        def work(tx):
            session, shared = tx.session, tx.grouped
            calls.append((label, shared))
            _note(session, label)
            return label
        return work

    def refused(tx):
        session, shared = tx.session, tx.grouped
        calls.append(("w-bad", shared))
        _note(session, "w-bad")  # written, then refused: must not be kept
        raise Forbidden("not yours", code="auth.forbidden")

    writer = SubmissionWriter(db, max_batch=16)
    try:
        results = asyncio.run(run_as_one_group(writer, [good("w-1"), refused, good("w-2")]))
    finally:
        writer.close()
    assert results[0] == "w-1" and results[2] == "w-2"
    assert isinstance(results[1], Forbidden)
    assert _notes(db) == {"w-1", "w-2"}
    # Tried together first, then each alone after the group was rolled back.
    assert calls[:2] == [("w-1", True), ("w-bad", True)]
    assert sorted(c for c in calls[2:]) == [("w-1", False), ("w-2", False), ("w-bad", False)]


def test_submissions_waiting_together_share_one_transaction(db):
    seen: list[bool] = []

    def work(label):
        def run(tx):
            session, shared = tx.session, tx.grouped
            seen.append(shared)
            _note(session, label)
            return label
        return run

    writer = SubmissionWriter(db, max_batch=16)
    try:
        results = asyncio.run(run_as_one_group(writer, [work(f"w-{i}") for i in range(5)]))
    finally:
        writer.close()
    assert results == [f"w-{i}" for i in range(5)]
    assert seen == [True] * 5
    assert _notes(db) == {f"w-{i}" for i in range(5)}


@pytest.mark.parametrize("max_batch", [1, 2])
def test_groups_are_no_larger_than_the_limit(db, max_batch):
    seen: list[bool] = []

    def run(tx):
        shared = tx.grouped
        seen.append(shared)
        return None

    writer = SubmissionWriter(db, max_batch=max_batch)
    try:
        asyncio.run(run_as_one_group(writer, [run] * 4))
    finally:
        writer.close()
    assert seen == [max_batch > 1] * 4


def test_a_groups_device_tokens_are_checked_in_one_query_with_the_same_rules(db, monkeypatch):
    from sync import accounts

    with Session(db) as s:
        tokens = {}
        for name in ("kader-a", "kader-b", "kader-gone"):
            user = accounts.create_user(s, username=name, password="password-123", role="kader",
                                        scopes=["33.75"])
            row, tokens[name] = accounts.create_app_token(s, user=user)
            if name == "kader-gone":
                accounts.revoke_app_token(s, token_id=row.id)
        s.commit()
    from sync.queries import accounts as account_queries
    from sync.unit_of_work import Call

    single_lookups: list[str] = []
    one_by_one = account_queries.app_token_rows

    def counted(session, token_hash):
        single_lookups.append(token_hash)
        return one_by_one(session, token_hash)

    monkeypatch.setattr(account_queries, "app_token_rows", counted)

    def whose(token):
        def work(tx):
            return tx.principal_from_app_token(token).username, tx.grouped
        return Call(work, device_token=token)

    async def group():
        release = threading.Event()

        def hold(tx):
            release.wait(10)

        first = asyncio.ensure_future(writer.store(hold))
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(writer.store(whose(token)))
                for token in tokens.values()]
        await asyncio.sleep(0.05)
        release.set()
        await first
        return await asyncio.gather(*rest, return_exceptions=True)

    writer = SubmissionWriter(db, max_batch=16)
    try:
        a, b, gone = asyncio.run(group())
    finally:
        writer.close()
    assert isinstance(gone, Forbidden) and gone.code == "auth.revoked_app_token"
    # The group (tokens preloaded together) failed on the revoked token; each was then
    # redone alone, looking its own token up.
    assert (a, b) == (("kader-a", False), ("kader-b", False))
    assert len(single_lookups) == 3

    single_lookups.clear()
    writer = SubmissionWriter(db, max_batch=16)
    del tokens["kader-gone"]
    try:
        a, b = asyncio.run(group())
    finally:
        writer.close()
    assert (a, b) == (("kader-a", True), ("kader-b", True))
    assert single_lookups == []


def test_a_groups_registry_versions_and_change_log_are_written_once_in_order(db):
    from sqlmodel import select as sql_select

    from models import ChangeLog, PersonVersion
    from sync.apply import Provenance, create_person, update_in_place
    from tests.support import KELURAHAN

    provenance = Provenance(actor_id=None, submission_id=None, reason="test")

    def register(name):
        def work(tx):
            session, shared = tx.session, tx.grouped
            person = create_person(session, data={"name": name, "kelurahan_code": KELURAHAN},
                                   provenance=provenance)
            update_in_place(session, "person", person, changes={"sex": "female"},
                            provenance=provenance)
            return person["id"], shared
        return work

    writer = SubmissionWriter(db, max_batch=16)
    try:
        results = asyncio.run(run_as_one_group(writer, [register(n) for n in ("Ani", "Budi", "Citra")]))
    finally:
        writer.close()
    assert [shared for _, shared in results] == [True] * 3
    ids = [person_id for person_id, _ in results]
    with Session(db) as s:
        changes = s.exec(sql_select(ChangeLog).order_by(ChangeLog.seq)).all()
        assert [(c.entity_id, c.version) for c in changes] == [
            (person_id, version) for person_id in ids for version in (1, 2)]
        versions = s.exec(sql_select(PersonVersion)).all()
        assert sorted((v.person_id, v.version) for v in versions) == sorted(
            (person_id, version) for person_id in ids for version in (1, 2))


def test_a_writer_stopped_and_started_again_still_stores(db):
    """An app may be started and stopped more than once (several test clients, a
    restart): a submission stored after close() is never left waiting."""
    def note(label):
        def work(tx):
            session = tx.session
            _note(session, label)
            return label
        return work

    writer = SubmissionWriter(db, max_batch=16)
    try:
        assert asyncio.run(writer.store(note("w-first"))) == "w-first"
        writer.close()
        writer.close()  # twice: nothing to stop
        assert asyncio.run(asyncio.wait_for(writer.store(note("w-again")), 10)) == "w-again"
    finally:
        writer.close()
    assert _notes(db) == {"w-first", "w-again"}


def test_the_writers_statements_stay_prepared_when_others_roll_back(db):
    """PostgreSQL: psycopg forgets a connection's prepared statements at every
    ROLLBACK, and read-only requests end in one. The writer's connection is its own,
    so its statements stay prepared, and they run their generic plan."""
    if db.dialect.name != "postgresql":
        pytest.skip("prepared statements and plan caching are PostgreSQL's")
    from sqlalchemy import bindparam, select

    from core.statements import Prepared
    from models import ServerSetting

    table = ServerSetting.__table__
    lookup = Prepared(select(table.c.value).where(table.c.key == bindparam("key")))
    marker = str(lookup.statement.compile(dialect=db.dialect)).split("\n")[0]

    def look_up(tx):
        session = tx.session
        for _ in range(6):  # psycopg prepares a statement at its fifth run
            lookup.first(session, {"key": "w-none"})
        return None

    def prepared_here(tx):
        session = tx.session
        return session.execute(text(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE :marker"), {"marker": marker + "%"}).all()

    writer = SubmissionWriter(db, max_batch=16)
    try:
        asyncio.run(writer.store(look_up))
        # Every connection of the app's pool reads, then rolls back.
        sessions = [Session(db) for _ in range(db.pool.size())]
        for s in sessions:
            s.execute(text("SELECT 1"))
        for s in sessions:
            s.close()
        asyncio.run(writer.store(look_up))
        plans = asyncio.run(writer.store(prepared_here))
    finally:
        writer.close()
    assert len(plans) == 1
    generic, custom = plans[0]
    assert generic >= 2 and custom == 0


class _Fatal(BaseException):
    """Not an Exception: what no except clause of the writer's work path catches."""


def test_a_writer_thread_that_dies_answers_and_is_replaced(db):
    def fatal(tx):
        raise _Fatal("the thread dies here")

    def note(tx):
        session = tx.session
        _note(session, "w-after")
        return "w-after"

    writer = SubmissionWriter(db, max_batch=16)
    try:
        with pytest.raises(Unavailable) as refused:
            asyncio.run(asyncio.wait_for(writer.store(fatal), 10))
        assert refused.value.code == "server.writer_stopped"
        assert asyncio.run(asyncio.wait_for(writer.store(note), 10)) == "w-after"
    finally:
        writer.close()
    assert _notes(db) == {"w-after"}


def test_the_writers_connection_keeps_the_urls_options(db):
    """The writer's plan_cache_mode is added to what the database URL sets."""
    if db.dialect.name != "postgresql":
        pytest.skip("connection options are PostgreSQL's")
    from sqlalchemy.engine import make_url

    from core.db import make_engine, writer_engine

    url = make_url(db.url).update_query_dict({"options": "-c statement_timeout=4321"})
    app_engine = make_engine(url.render_as_string(hide_password=False), pool_size=1)
    engine = writer_engine(app_engine)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "4321ms"
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_generic_plan"
            assert conn.exec_driver_sql("SHOW enable_seqscan").scalar() == "off"
            assert conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar() == "0"
            for setting in ("enable_mergejoin", "enable_hashjoin", "jit"):
                assert conn.exec_driver_sql(f"SHOW {setting}").scalar() == "off"
    finally:
        engine.dispose()
        app_engine.dispose()


def test_warm_up_readies_the_pool_the_writer_and_the_who_tables(db):
    """What api.main does before a worker serves its first request."""
    from api.app import create_app, warm_up
    from indicators.anthro import growth_standards

    growth_standards.cache_clear()
    app = create_app(db)
    writer = app.state.submission_writer
    try:
        warm_up(app, connections=3)
        assert db.pool.checkedin() >= 3
        assert writer._current is not None and writer._current.thread.is_alive()
        if db.dialect.name == "postgresql":  # its own pool, its connection open
            assert writer._current.unit_of_work.engine.pool.checkedin() == 1
        assert growth_standards.cache_info().currsize == 1
    finally:
        writer.close()


def test_warm_up_with_the_database_down_still_lets_the_worker_start(caplog):
    from api.app import create_app, warm_up
    from core.db import make_engine

    engine = make_engine("postgresql://postgres@127.0.0.1:1/none", pool_size=2)
    app = create_app(engine)
    try:
        warm_up(app)
    finally:
        app.state.submission_writer.close(timeout=5)
        engine.dispose()
    assert "warm-up stopped" in caplog.text


def test_store_all_runs_its_units_in_groups_of_their_own_in_order(db):
    """A push's mutations (store_all): at most `group` units to a transaction (a job of
    more than max_batch is a group of its own), answered in order; a failing one is
    redone alone as in any group."""
    import itertools

    seen: list[tuple[str, bool, int]] = []
    transactions = itertools.count()

    def work(label):
        def run(tx):
            seen.append((label, tx.grouped,
                         tx.session.info.setdefault("test-transaction", next(transactions))))
            _note(tx.session, label)
            if label == "w-s3":
                raise Forbidden("not yours", code="auth.forbidden")
            return label
        return run

    async def both(writer):
        other = asyncio.ensure_future(writer.store(work("w-other")))
        outcomes = await writer.store_all([as_unit(work(f"w-s{i}")) for i in range(5)], group=2)
        return outcomes, await other

    from sync.unit_of_work import as_unit

    writer = SubmissionWriter(db, max_batch=2)
    try:
        outcomes, other = asyncio.run(both(writer))
    finally:
        writer.close()
    assert other == "w-other"
    assert [result for result, _ in outcomes] == ["w-s0", "w-s1", "w-s2", None, "w-s4"]
    assert isinstance(outcomes[3][1], Forbidden)
    assert _notes(db) == {"w-other", "w-s0", "w-s1", "w-s2", "w-s4"}
    first_try = {}
    for label, grouped, session in seen:
        first_try.setdefault(label, (grouped, session))
    # s0+s1 one transaction, s2+s3 another (rolled back, then each alone), s4 alone.
    assert first_try["w-s0"][1] == first_try["w-s1"][1] != first_try["w-s2"][1]
    assert first_try["w-s2"][1] == first_try["w-s3"][1]
    assert first_try["w-other"][1] not in {first_try[f"w-s{i}"][1] for i in range(5)}
    assert [label for label, grouped, _ in seen if not grouped] == ["w-other", "w-s2", "w-s3", "w-s4"]
