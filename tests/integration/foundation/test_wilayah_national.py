"""The national Kemendagri list shipped with the package, loaded into fresh databases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, text
from sqlmodel import Session, select

from cli.main import main
from core.config import get_settings
from core.db import get_engine, make_engine
from core.migrate import upgrade
from models import Wilayah
from sync import accounts
from sync.wilayah import NATIONAL_FILES, import_national, read_national
from tests.support import bearer

EXPECTED = {"provinsi": 38, "kabkota": 514, "kecamatan": 7285, "kelurahan/desa": 83762}
BATURAJA = "16.01.14.1001"  # Baturaja Lama, Kab. Ogan Komering Ulu (Sumatera Selatan)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_engine(request, database_url_factory):
    url = database_url_factory(request.param)
    upgrade(url)
    eng = make_engine(url, pool_size=2)
    yield eng
    eng.dispose()


def _levels(engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT level, count(*) FROM wilayah GROUP BY level")).all()
    got = dict(rows)
    return {"provinsi": got.get("provinsi", 0), "kabkota": got.get("kabkota", 0),
            "kecamatan": got.get("kecamatan", 0),
            "kelurahan/desa": got.get("kelurahan", 0) + got.get("desa", 0)}


def test_the_shipped_files_hold_the_published_counts_and_every_parent():
    seen: set[str] = set()
    for level, filename in NATIONAL_FILES:
        rows = read_national(filename)
        assert len(rows) == len({c for c, _ in rows}) == EXPECTED[level]
        assert all(c.rsplit(".", 1)[0] in seen for c, _ in rows if "." in c)
        seen.update(c for c, _ in rows)


def test_national_import_loads_everything_and_is_idempotent(fresh_engine):
    first = import_national(fresh_engine)
    assert _levels(fresh_engine) == EXPECTED
    # The migration's Kota Pekalongan seed (33 + 33.75 + 4 kecamatan + 27 kelurahan) stays.
    assert sum(first.unchanged.values()) == 1 + 1 + 4 + 27
    assert sum(first.added.values()) == sum(EXPECTED.values()) - 33
    again = import_national(fresh_engine)
    assert sum(again.added.values()) == sum(again.renamed.values()) == 0
    assert {lvl: again.total(lvl) for lvl in EXPECTED} == EXPECTED
    assert _levels(fresh_engine) == EXPECTED


def test_national_import_of_one_province_and_a_rename(fresh_engine):
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE wilayah SET name = 'Lama' WHERE code = '33.75.01.1002'"))
    counts = import_national(fresh_engine, provinces=["33"])
    assert counts.renamed["kelurahan/desa"] == 1
    with Session(fresh_engine) as s:
        assert s.get(Wilayah, "33.75.01.1002").name == "Medono"
        assert s.exec(select(func.count()).select_from(Wilayah)
                      .where(~Wilayah.code.startswith("33"))).one() == 0
        in_33 = s.exec(select(func.count()).select_from(Wilayah)).one()
    assert in_33 == sum(counts.total(lvl) for lvl in EXPECTED)
    assert counts.total("provinsi") == 1 and counts.total("kabkota") == 35


def test_a_posyandu_outside_pekalongan_needs_the_national_list(fresh_engine):
    from api.app import create_app

    with Session(fresh_engine) as s:
        accounts.create_user(s, username="admin", password="admin-password-1", role="admin")
        s.commit()
    with TestClient(create_app(fresh_engine), base_url="http://testserver") as client:
        headers = bearer(client, "admin", "admin-password-1")
        body = {"kelurahan_code": BATURAJA, "name": "Posyandu Melati"}
        r = client.post("/api/v1/posyandu", headers=headers, json=body)
        assert r.status_code == 404 and r.json()["error"] == "wilayah.not_found", r.text
        import_national(fresh_engine)
        r = client.post("/api/v1/posyandu", headers=headers, json=body)
        assert r.status_code == 201, r.text


@pytest.fixture
def fresh_cli(fresh_engine, monkeypatch):
    monkeypatch.setenv("POSYANDU_DATABASE_URL",
                       fresh_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield fresh_engine
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_cli_wilayah_import_without_files_prints_counts_per_level(fresh_cli, capsys):
    assert main(["wilayah", "import", "--province", "33"]) == 0
    out = capsys.readouterr().out
    assert "kelurahan/desa" in out and "ODbL 1.0" in out
    assert _levels(fresh_cli)["provinsi"] == 1
    assert main(["wilayah", "import"]) == 0
    out = capsys.readouterr().out
    assert "83762" in out.replace(",", "")
    assert _levels(fresh_cli) == EXPECTED


def test_bootstrap_wilayah_all_loads_the_country(fresh_cli, capsys):
    assert main(["bootstrap"]) == 0
    assert "Kota Pekalongan" in capsys.readouterr().out
    assert _levels(fresh_cli)["provinsi"] == 1
    assert main(["bootstrap", "--wilayah", "all"]) == 0
    assert _levels(fresh_cli) == EXPECTED


def test_cli_rejects_a_bad_province_code_and_loads_nothing(fresh_cli, capsys):
    before = _levels(fresh_cli)
    assert main(["wilayah", "import", "--province", "33.75.01"]) == 1
    assert "Not province/regency codes" in capsys.readouterr().err
    assert _levels(fresh_cli) == before
