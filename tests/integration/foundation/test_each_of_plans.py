"""The caseload refresh reads and identity's family reads (core.statements.EachOf) must
stay one index lookup per id in every statistics state: here the tables are analysed
when (nearly) empty, the state in which `column = ANY($1)`'s generic plan was a full
scan of another index (ix_measurement_day for a person's measurements, the primary key's
first column for a subject's contributions), and every table each read touches must be
reached through an index whose condition is the value looked up (or what a step before
mapped it to). The rows read then grow with the subjects refreshed, not with the
registry."""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass

import pytest
from sqlalchemy.dialects import postgresql

from core.db import WRITER_SETTINGS
from core.statements import EachOf
from sync.queries import caseloads as q
from sync.queries import identity as identity_q


def _each_of_reads():
    found = {f"identity.{name}": value for name, value in vars(identity_q).items()
             if isinstance(value, EachOf)}
    for name, value in vars(q).items():
        values = value.items() if isinstance(value, dict) else [(None, value)]
        for key, item in values:
            label = name if key is None else f"{name}[{key}]"
            if isinstance(item, EachOf):
                found[label] = item
            elif is_dataclass(item) and not isinstance(item, type):
                found.update({f"{label}.{f.name}": getattr(item, f.name) for f in fields(item)
                              if isinstance(getattr(item, f.name), EachOf)})
    return found


READS = _each_of_reads()


def _explain(connection, statement, number: int) -> list[str]:
    compiled = statement.compile(dialect=postgresql.dialect())
    params = compiled.construct_params(_check=False)
    order: list[str] = []

    def placeholder(match):
        order.append(match.group(1))
        return f"${len(order)}{match.group(2) or ''}"

    sql = re.sub(r"%\((\w+)\)s(::VARCHAR\[\])?", placeholder, str(compiled))
    values = ["ARRAY['a', 'b', 'c']" if n == "ids" else "'person'" if n == "kind"
              else str(params[n]) if isinstance(params[n], int) else f"'{params[n]}'" for n in order]
    connection.exec_driver_sql(f"PREPARE read_{number} AS {sql}")
    return [row[0] for row in connection.exec_driver_sql(
        f"EXPLAIN EXECUTE read_{number}({', '.join(values)})")]


def test_there_are_reads_to_check():
    assert {"_CONTRIBUTIONS", "_OF_PERSONS.measurements", "_OF_MEMBERS.conflicts",
            "_PERSONS[True]", "identity._MOTHERS", "identity._KKS",
            "identity._CANDIDATES_BY_ID"} <= set(READS)


@pytest.fixture
def tiny(database_url_factory):
    """A PostgreSQL database of its own (its ANALYZE of empty tables would change the
    plans other tests check)."""
    from core.db import make_engine
    from core.migrate import upgrade

    url = database_url_factory("postgres")
    upgrade(url)
    engine = make_engine(url, pool_size=1)
    yield engine
    engine.dispose()


def _writer_settings(connection) -> None:
    for setting in WRITER_SETTINGS:
        name, value = setting.removeprefix("-c ").split("=")
        connection.exec_driver_sql(f"SET {name} = {value}")


def _households(connection, count: int) -> None:
    """Province 33 and households h1..h`count` in it."""
    connection.exec_driver_sql(
        "INSERT INTO wilayah (code, name, level, parent_code) VALUES "
        "('33', 'Jawa Tengah', 'provinsi', NULL) ON CONFLICT DO NOTHING")
    connection.exec_driver_sql(
        "INSERT INTO household (id, kk, head_name, kelurahan_code, version, created_at, "
        "updated_at) SELECT 'h' || i, '33750101' || lpad(i::text, 8, '0'), 'Kepala ' || i, "
        f"'33', 1, now(), now() FROM generate_series(1, {count}) AS i")


def _bad_plans(connection, first: int = 0) -> dict[str, list[str]]:
    """Each read's plan lines that are not an index lookup of the value (a sequential
    scan, or an index probed with constants only, such as `merged_into_id IS NULL`)."""
    bad = {}
    for number, (label, read) in enumerate(sorted(READS.items())):
        plan = _explain(connection, read.for_dialect(connection.dialect).statement,
                        first + number)
        for i, line in enumerate(plan):
            if "Seq Scan" in line:
                bad.setdefault(label, []).append(line.strip())
            if re.search(r"(Index|Index Only) Scan", line):
                condition = next((p for p in plan[i + 1:i + 3] if "Index Cond" in p), "")
                # An equality with a column of the row before (the value looked up, or
                # what a via step mapped it to), not only with constants ($n).
                if not re.search(r"= \(*\w+\.", condition):
                    bad.setdefault(label, []).append(f"{line.strip()} / {condition.strip()}")
    return bad


def test_each_read_is_an_index_lookup_of_the_value_under_tiny_statistics(tiny):
    with tiny.connect() as connection:
        connection.exec_driver_sql("ANALYZE")  # the tables as a new deployment has them
        _writer_settings(connection)
        bad = _bad_plans(connection)
        connection.rollback()
    assert bad == {}


def test_each_read_is_an_index_lookup_of_the_value_in_a_registry_never_analysed(tiny):
    """A registry filled (an import, a restore) and not yet analysed: the planner's
    defaults take `merged_into_id IS NULL` for a rare condition, and with a plain index
    on merged_into_id it ANDed that index, every live person of the registry, into each
    household's members read (0.6 ms a household at 28,785 persons, growing with the
    registry). The index holds merged persons only (migration 0009), so it cannot."""
    with tiny.connect() as connection:
        tables = [row[0] for row in connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:  # no analyse behind the test's back
            connection.exec_driver_sql(f'ALTER TABLE "{table}" SET (autovacuum_enabled = false)')
        _households(connection, 10_000)
        connection.exec_driver_sql(
            "INSERT INTO person (id, name, name_key, name_block, birth_date, household_id, "
            "birth_date_estimated, kelurahan_code, version, created_at, updated_at) "
            "SELECT 'p' || i, 'Anak ' || i, 'anak ' || i, 'ank', date '2022-01-01' + mod(i, 1500), "
            "'h' || (1 + mod(i, 10000)), false, '33', 1, now(), now() "
            "FROM generate_series(1, 30000) AS i")
        never = connection.exec_driver_sql(
            "SELECT last_analyze IS NULL AND last_autoanalyze IS NULL FROM pg_stat_user_tables "
            "WHERE relname = 'person'").scalar_one()
        assert never
        bad = _bad_plans(connection)  # the caseload rebuild's reads: a plain session
        _writer_settings(connection)
        bad.update({f"writer {k}": v for k, v in _bad_plans(connection, 1000).items()})
        connection.rollback()
    assert bad == {}


def test_a_mothers_children_are_found_by_index_under_tiny_statistics(tiny):
    """The identity blocking query's branches that go through the mother (by her NIK,
    by her name) keep the mother's-children index as their condition: as a plain IN
    semi-join, the generic plan made after an ANALYZE of tiny tables merge-joined a
    full scan of ix_person_mother (0.3 s a claim at 1,000,000 persons)."""
    from sync.queries import identity

    with tiny.connect() as connection:
        # A young deployment: 20 households, each a mother with two children.
        _households(connection, 20)
        connection.exec_driver_sql(
            "INSERT INTO person (id, nik, name, name_key, name_block, birth_date, "
            "birth_date_estimated, kelurahan_code, version, created_at, updated_at) "
            "SELECT 'm' || i, '33750155079' || lpad(i::text, 5, '0'), 'Ibu ' || i, "
            "'ibu ' || i, 'ib', date '1995-01-01' + i, false, '33', 1, now(), now() "
            "FROM generate_series(1, 20) AS i")
        connection.exec_driver_sql("UPDATE person SET household_id = 'h' || substr(id, 2)")
        connection.exec_driver_sql(
            "INSERT INTO person (id, name, name_key, name_block, birth_date, mother_id, "
            "birth_date_estimated, kelurahan_code, version, created_at, updated_at) "
            "SELECT 'c' || i, 'Anak ' || i, 'anak ' || i, 'ank', date '2024-01-01' + i, "
            "'m' || (1 + mod(i, 20)), false, '33', 1, now(), now() FROM generate_series(1, 40) AS i")
        connection.exec_driver_sql("UPDATE person SET household_id = 'h' || substr(mother_id, 2) "
                                   "WHERE mother_id IS NOT NULL")
        connection.exec_driver_sql("ANALYZE")
        _writer_settings(connection)
        order: list[str] = []

        def numbered(match):
            if match[1] not in order:
                order.append(match[1])
            return f"${order.index(match[1]) + 1}"

        sql = re.sub(r"%\((\w+)\)s", numbered,
                     str(identity._BLOCKING.statement.compile(dialect=postgresql.dialect())))
        connection.exec_driver_sql(f"PREPARE blocking AS {sql}")
        plan = [row[0] for row in connection.exec_driver_sql(
            f"EXPLAIN EXECUTE blocking({', '.join('NULL' for _ in order)})")]
        connection.rollback()
    unbounded = [line for i, line in enumerate(plan) if "Index Scan" in line
                 and not any("Index Cond" in later for later in plan[i + 1:i + 3])]
    assert unbounded == [], plan
