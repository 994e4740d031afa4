"""Alembic is the only source of the schema: models and migrations must agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from core.db import make_engine
from core.migrate import downgrade, head_revision, upgrade


def _diff(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, SQLModel.metadata)


def test_autogenerate_finds_no_difference_between_models_and_migrations(engine):
    assert _diff(engine) == []


def test_upgrade_downgrade_upgrade_round_trip(database_url_factory, database_url):
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    url = database_url_factory(backend)
    upgrade(url)
    downgrade(url, "base")
    eng = make_engine(url, pool_size=1)
    try:
        assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
    finally:
        eng.dispose()
    upgrade(url)
    eng = make_engine(url, pool_size=1)
    try:
        with eng.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            kelurahan = conn.execute(
                text("SELECT count(*) FROM wilayah WHERE level = 'kelurahan' AND code LIKE '33.75.%'")
            ).scalar_one()
        assert version == head_revision()
        assert kelurahan == 27
        assert _diff(eng) == []
    finally:
        eng.dispose()


def test_first_migration_seeds_kota_pekalongan(session):
    from sqlmodel import select

    from models import Wilayah

    rows = session.exec(select(Wilayah).where(Wilayah.code.startswith("33.75"))).all()
    levels = sorted(r.level for r in rows)
    assert levels.count("kabkota") == 1
    assert levels.count("kecamatan") == 4
    assert levels.count("kelurahan") == 27
    # Codes have gaps after mergers: 33.75.01.1001 does not exist.
    assert "33.75.01.1001" not in {r.code for r in rows}


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        with eng.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        eng.dispose()


def test_0005_gives_existing_users_and_tokens_defaults_and_downgrades(database_url_factory,
                                                                       database_url):
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    url = database_url_factory(backend)
    upgrade(url, "0004")
    eng = make_engine(url, pool_size=1)
    try:
        with eng.begin() as conn:
            conn.execute(text("INSERT INTO user_account (username, password_hash, role, "
                              "is_active, created_at) VALUES ('old', 'x', 'admin', true, "
                              "CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO app_token (user_id, token_hash, label, created_at) "
                              "SELECT id, 'h', 'old phone', CURRENT_TIMESTAMP FROM user_account"))
        upgrade(url, "0005")  # on SQLite, a batch (copy-and-drop) migration would cascade
        with eng.connect() as conn:
            assert conn.execute(text("SELECT credential_version FROM user_account")).scalar_one() == 1
            assert conn.execute(text("SELECT kind FROM app_token")).scalar_one() == "api"
        downgrade(url, "0004")
        with eng.connect() as conn:
            assert conn.execute(text("SELECT label FROM app_token")).scalar_one() == "old phone"
        columns = {c["name"] for c in inspect(eng).get_columns("app_token")}
        assert "kind" not in columns
        assert "credential_version" not in {c["name"] for c in inspect(eng).get_columns("user_account")}
        upgrade(url)
    finally:
        eng.dispose()
