"""Fill a registry with a province's worth of people before an intake run.

`preload(url, persons=N, months=M)` writes, in bulk and outside the write path (which
would take hours at 1,000,000 persons), what N persons registered and measured through
the write path leave behind: posyandu, households, persons (children, their mothers
and household heads) with their first version and change-log rows, and for every child
under five one measurement a month for the last M months, each with the processed
submission it came from and WHO z-scores and Permenkes categories computed by
`indicators`.

The people are the field simulator's cities (`simulator.population.generate_city`),
one seed after another, each laid over 27 further villages (kelurahan/desa) of the
province, so a million persons spread over a province's villages as they would, about
a hundred per village. NIK and No. KK numbers are re-issued with the village's
kecamatan prefix and serials from 5001 up, so they never collide with the numbers the
benchmark's phones send (serials from 1). The preloaded submissions carry a short
stand-in for their XML: their content is never read again during intake, only their
rows and index entries count.

On PostgreSQL rows go in with COPY; on SQLite with executemany.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

PRELOAD_SERIAL = 5001  # NIK/KK serials of preloaded people start here
STAND_IN_XML = b"<data preloaded='1'/>"
BALITA_DAYS = 1826


@dataclass
class PreloadStats:
    persons: int = 0
    households: int = 0
    posyandu: int = 0
    measurements: int = 0
    villages: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (f"{self.persons:,} persons, {self.households:,} households, "
                f"{self.measurements:,} measurements (and submissions), {self.posyandu:,} "
                f"posyandu over {self.villages:,} villages in {self.seconds:.0f} s")


# ------------------------------------------------------------------ rows


class _Serials:
    """NIK/KK serials per (prefix, date part), from PRELOAD_SERIAL up."""

    def __init__(self):
        self.next = defaultdict(lambda: PRELOAD_SERIAL)

    def issue(self, head: str) -> str | None:
        serial = self.next[head]
        if serial > 9999:
            return None  # this village ran out of serials for this date: no number
        self.next[head] = serial + 1
        return f"{head}{serial:04d}"


@dataclass
class _Tables:
    """Rows for each table, in insertion order (column names in COLUMNS)."""

    posyandu: list
    household: list
    person: list
    household_version: list
    person_version: list
    change_log: list
    submission: list
    measurement: list


COLUMNS = {
    "posyandu": ("id", "kelurahan_code", "name", "rw", "is_active", "created_at"),
    "household": ("id", "kk", "head_name", "address", "rt", "rw", "kelurahan_code", "version",
                  "merged_into_id", "created_at", "updated_at"),
    "person": ("id", "nik", "name", "name_key", "name_block", "sex", "birth_date",
               "birth_date_estimated", "mother_id", "household_id", "kelurahan_code", "posyandu_id", "version",
               "merged_into_id", "created_at", "updated_at"),
    "household_version": ("household_id", "version", "data", "changed_at", "changed_by",
                          "submission_id", "reason"),
    "person_version": ("person_id", "version", "data", "changed_at", "changed_by",
                       "submission_id", "reason"),
    "change_log": ("entity_type", "entity_id", "version", "op", "kelurahan_code", "posyandu_id",
                   "changed_at"),
    "submission": ("id", "form_id", "form_version", "instance_id", "deprecated_id", "source",
                   "content_type", "content", "content_hash", "submitter_id", "app_token_id",
                   "device_id", "kelurahan_code", "posyandu_id", "received_at", "status", "error",
                   "attempts", "processed_at"),
    "measurement": ("id", "submission_id", "person_id", "kelurahan_code", "posyandu_id",
                    "measured_on", "age_days", "weight_kg", "length_height_cm", "measure_method",
                    "muac_cm", "oedema", "clenhei", "cmeasure", "c9mo_flag", "cbmi", "zlen",
                    "flen", "zwei", "fwei", "zwfl", "fwfl", "zbmi", "fbmi", "zac", "fac",
                    "bbu_category", "tbu_category", "bbtb_category", "imtu_category", "stunted",
                    "severely_stunted", "wasted", "severely_wasted", "underweight", "overweight",
                    "age_group", "plausibility_flags", "is_current", "created_at"),
}


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


def _number(value: float):
    return None if value != value else float(value)  # NaN -> None


def _flag(value: float):
    return None if value != value else int(value)


def _boolean(value: float):
    return None if value != value else bool(value)


def city_rows(city, villages: list[tuple[str, str]], *, today: date, months: int,
              serials: _Serials, ids: dict[str, int], form_version: str) -> _Tables:
    """The rows one simulated city leaves, laid over `villages` (code, kecamatan code),
    one per simulator kelurahan. `ids` holds the next posyandu/submission/measurement
    ids and is advanced."""
    from indicators.anthro import MEASURE_HEIGHT, MEASURE_LENGTH, compute_zscores
    from indicators.categories import nutrition_status_arrays
    from matching.names import phonetic_key
    from simulator.growth import length_height_cm, monthly_z, weight_kg
    from sync.apply import HOUSEHOLD_FIELDS, PERSON_FIELDS, snapshot
    from sync.names import name_key

    place = {k.code: villages[i % len(villages)] for i, k in enumerate(city.kelurahan)}
    t = _Tables(*([] for _ in range(8)))
    posyandu_id = {}
    for key, p in city.posyandu.items():
        code = place[p.kelurahan.code][0]
        posyandu_id[key] = ids["posyandu"]
        t.posyandu.append((ids["posyandu"], code, f"{p.name} #{ids['posyandu']}", None, True,
                           _moment(today)))
        ids["posyandu"] += 1

    household_id, household_code, household_posyandu = {}, {}, {}
    for h in city.households.values():
        code, kecamatan = place[h.kelurahan_code]
        prefix = kecamatan.replace(".", "")
        kk = serials.issue(prefix + h.kk[6:12]) if h.kk else None
        hid = str(uuid.uuid4())
        household_id[h.id], household_code[h.id] = hid, code
        household_posyandu[h.id] = posyandu_id[h.posyandu_key]
        head = city.persons[h.head_id or h.woman_id].name
        created = _moment(today - timedelta(days=months * 30))
        row = dict(id=hid, kk=kk, head_name=head, address=h.address, rt=h.rt, rw=h.rw,
                   kelurahan_code=code, version=1, merged_into_id=None, created_at=created,
                   updated_at=created)
        t.household.append(tuple(row[c] for c in COLUMNS["household"]))
        t.household_version.append((hid, 1, json.dumps(snapshot(row, HOUSEHOLD_FIELDS)), created,
                                    None, None, "preload"))
        t.change_log.append(("household", hid, 1, "upsert", code, None, created))

    person_id = {p.id: str(uuid.uuid4()) for p in city.persons.values()}
    children = []
    for p in city.persons.values():
        if p.birth_date > today:
            continue
        code, kecamatan = place[city.households[p.household_id].kelurahan_code]
        nik = None
        if p.nik:
            nik = serials.issue(kecamatan.replace(".", "") + p.nik[6:12])
        created = _moment(max(p.birth_date, today - timedelta(days=months * 30)))
        row = dict(id=person_id[p.id], nik=nik, name=p.name, name_key=name_key(p.name),
                   name_block=phonetic_key(p.name)[:8],
                   sex=p.sex, birth_date=p.birth_date, birth_date_estimated=False,
                   mother_id=person_id.get(p.mother_id) if p.mother_id else None,
                   household_id=household_id[p.household_id], kelurahan_code=code,
                   posyandu_id=household_posyandu[p.household_id], version=1,
                   merged_into_id=None, created_at=created, updated_at=created)
        t.person.append(tuple(row[c] for c in COLUMNS["person"]))
        t.person_version.append((row["id"], 1, json.dumps(snapshot(row, PERSON_FIELDS)), created,
                                 None, None, "preload"))
        t.change_log.append(("person", row["id"], 1, "upsert", code, row["posyandu_id"], created))
        if p.role == "child" and p.track is not None:
            children.append((p, row))

    # Monthly visits of the children under five, the last `months` months.
    visits = []
    rng = random.Random(city.seed)
    for p, row in children:
        hazs, whzs = monthly_z(rng, p.track, months + 1)
        for m in range(months, -1, -1):
            day = today - timedelta(days=30 * m)
            age = (day - p.birth_date).days
            if 30 <= age < BALITA_DAYS:
                haz, whz = hazs[months - m], whzs[months - m]
                height = round(length_height_cm(p.sex, age, haz), 1)
                weight = round(weight_kg(p.sex, age, height, whz, haz), 1)
                visits.append((row, day, age, height, weight))
    if not visits:
        return t
    sex = np.array([1 if r["sex"] == "male" else 2 for r, *_ in visits])
    age = np.array([v[2] for v in visits], dtype=float)
    height = np.array([v[3] for v in visits], dtype=float)
    weight = np.array([v[4] for v in visits], dtype=float)
    measure = np.where(age < 731, MEASURE_LENGTH, MEASURE_HEIGHT)
    oedema = np.zeros(len(visits), dtype=bool)
    z = compute_zscores(sex, age, weight, height, measure, oedema,
                        np.full(len(visits), np.nan))
    status = nutrition_status_arrays(z, oedema, age)
    zcols = {name: getattr(z, name).tolist() for name in z._fields}
    scols = {name: values.tolist() for name, values in status.items()}
    for i, (row, day, age_days, cm, kg) in enumerate(visits):
        sid, mid = ids["submission"], ids["measurement"]
        ids["submission"] += 1
        ids["measurement"] += 1
        instance = f"uuid:{uuid.uuid4()}"
        at = _moment(day)
        t.submission.append((sid, "anthropometry", form_version, instance, None, "openrosa",
                             "text/xml", STAND_IN_XML,
                             hashlib.sha256(instance.encode()).hexdigest(), None, None, None,
                             row["kelurahan_code"], row["posyandu_id"], at, "processed", None,
                             1, at))
        t.measurement.append((
            mid, sid, row["id"], row["kelurahan_code"], row["posyandu_id"], day, age_days, kg,
            cm, "lying" if age_days < 731 else "standing", None, False,
            _number(zcols["clenhei"][i]), "L" if zcols["cmeasure"][i] == MEASURE_LENGTH else "H",
            int(zcols["c9mo_flag"][i]), _number(zcols["cbmi"][i]),
            _number(zcols["zlen"][i]), _flag(zcols["flen"][i]),
            _number(zcols["zwei"][i]), _flag(zcols["fwei"][i]),
            _number(zcols["zwfl"][i]), _flag(zcols["fwfl"][i]),
            _number(zcols["zbmi"][i]), _flag(zcols["fbmi"][i]), None, None,
            scols["bbu_category"][i], scols["tbu_category"][i], scols["bbtb_category"][i],
            scols["imtu_category"][i], _boolean(scols["stunted"][i]),
            _boolean(scols["severely_stunted"][i]), _boolean(scols["wasted"][i]),
            _boolean(scols["severely_wasted"][i]), _boolean(scols["underweight"][i]),
            _boolean(scols["overweight"][i]), scols["age_group"][i], "", True, at))
    return t


# ------------------------------------------------------------------ writing


class _Writer:
    """COPY on PostgreSQL, executemany on SQLite; one transaction per flush."""

    def __init__(self, url: str):
        self.postgres = url.startswith("postgresql")
        if self.postgres:
            import psycopg

            from core.db import normalise_url

            self.conn = psycopg.connect(normalise_url(url).replace("+psycopg", ""))
        else:
            import sqlite3

            self.conn = sqlite3.connect(url.split("sqlite:///", 1)[1])
            # Bulk loading: no fsync per city (a crash loses a bench database, nothing
            # else) and a page cache big enough for the indexes' random uuid keys (the
            # default 2 MB made most inserts past 200,000 persons read pages back).
            # The rows written are the same.
            self.conn.execute("PRAGMA synchronous = OFF")
            self.conn.execute("PRAGMA cache_size = -1000000")

    def write(self, tables: _Tables) -> None:
        for name in COLUMNS:
            rows = getattr(tables, name)
            if not rows:
                continue
            columns = COLUMNS[name]
            if self.postgres:
                with self.conn.cursor().copy(
                        f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                self.conn.executemany(f"INSERT INTO {name} ({', '.join(columns)}) "
                                      f"VALUES ({marks})", [_sqlite_row(r) for r in rows])
        self.conn.commit()

    def scalar(self, sql: str):
        cur = self.conn.cursor()
        cur.execute(sql)
        return cur.fetchone()[0]

    def close(self) -> None:
        if self.postgres:
            # Sequences behind the explicit ids.
            cur = self.conn.cursor()
            for table in ("posyandu", "submission", "measurement"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
            self.conn.commit()
        self.conn.close()


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _sqlite_row(row: tuple) -> tuple:
    return tuple(_sqlite_value(v) for v in row)


def split_households(tables: _Tables, count: int) -> tuple[_Tables, _Tables]:
    """The rows of the first `count` households (their people, measurements and
    submissions) and the rest: a registry's first days, and what came later."""
    first = {row[0] for row in tables.household[:count]}
    household_of = COLUMNS["person"].index("household_id")
    people = {row[0] for row in tables.person if row[household_of] in first}
    measured = {row[1] for row in tables.measurement if row[2] in people}
    entities = first | people

    def part(rows, keep):
        return [r for r in rows if keep(r)], [r for r in rows if not keep(r)]

    pieces = [
        part(tables.posyandu, lambda r: True),
        part(tables.household, lambda r: r[0] in first),
        part(tables.person, lambda r: r[0] in people),
        part(tables.household_version, lambda r: r[0] in first),
        part(tables.person_version, lambda r: r[0] in people),
        part(tables.change_log, lambda r: r[1] in entities),
        part(tables.submission, lambda r: r[0] in measured),
        part(tables.measurement, lambda r: r[1] in measured),
    ]
    return _Tables(*(a for a, _ in pieces)), _Tables(*(b for _, b in pieces))


def analyse(url: str, *, autovacuum: bool | None = None) -> None:
    """ANALYZE every table; on PostgreSQL also switch autovacuum on or off for the
    registry and intake tables (None: leave it)."""
    w = _Writer(url)
    try:
        if w.postgres:
            w.conn.autocommit = True
            if autovacuum is not None:
                setting = "RESET (autovacuum_enabled)" if autovacuum else \
                    "SET (autovacuum_enabled = off)"
                for table in COLUMNS:
                    w.conn.execute(f"ALTER TABLE {table} {setting}")
        w.conn.execute("ANALYZE")
        w.conn.commit()
    finally:
        w.conn.close()


def province_villages(url: str, province: str = "33") -> list[tuple[str, str]]:
    """(code, kecamatan code) of the province's villages in the database, in code order."""
    w = _Writer(url)
    try:
        cur = w.conn.cursor()
        cur.execute("SELECT code, parent_code FROM wilayah WHERE level = 'kelurahan' "
                    f"AND code LIKE '{province}.%' ORDER BY code")
        return [(code, parent) for code, parent in cur.fetchall()]
    finally:
        w.conn.close()


def preload(url: str, *, persons: int, months: int = 12, seed: int = 1000,
            today: date | None = None, analyse_first: int | None = None,
            progress=print) -> PreloadStats:
    """Fill the (migrated, forms published) database at `url` with about `persons`
    persons (whole cities: a few thousand more at most) and their measurements.

    `analyse_first`: write that many households first, ANALYZE while the tables are
    that small and switch autovacuum off (PostgreSQL), then write the rest: the
    statistics stay those of a registry's first days. With `persons` 0, only those
    households are written."""
    from simulator.population import generate_city

    today = today or date.today()
    villages = province_villages(url)
    if not villages:
        raise RuntimeError("no villages of province 33 in the wilayah table")
    w = _Writer(url)
    ids = {"posyandu": int(w.scalar("SELECT COALESCE(MAX(id), 0) FROM posyandu")) + 1,
           "submission": int(w.scalar("SELECT COALESCE(MAX(id), 0) FROM submission")) + 1,
           "measurement": int(w.scalar("SELECT COALESCE(MAX(id), 0) FROM measurement")) + 1}
    form_version = w.scalar("SELECT version FROM form_version WHERE form_id = 'anthropometry' "
                            "AND is_current = TRUE" if w.postgres else
                            "SELECT version FROM form_version WHERE form_id = 'anthropometry' "
                            "AND is_current = 1")
    serials = _Serials()
    stats = PreloadStats(villages=len(villages))
    started = time.perf_counter()
    replica = 0
    start = today - timedelta(days=30 * months)
    while stats.persons < max(persons, 1):
        city = generate_city(seed=seed + replica, start=date(start.year, start.month, 1),
                             months=months)
        offset = (replica * len(city.kelurahan)) % len(villages)
        laid = [villages[(offset + i) % len(villages)] for i in range(len(city.kelurahan))]
        tables = city_rows(city, laid, today=today, months=months, serials=serials, ids=ids,
                           form_version=form_version)
        if replica == 0 and analyse_first is not None:
            tiny, tables = split_households(tables, analyse_first)
            w.write(tiny)
            analyse(url, autovacuum=False)
            stats.persons += len(tiny.person)
            stats.households += len(tiny.household)
            stats.measurements += len(tiny.measurement)
            stats.posyandu += len(tiny.posyandu)
            if persons == 0:
                break
        w.write(tables)
        stats.persons += len(tables.person)
        stats.households += len(tables.household)
        stats.posyandu += len(tables.posyandu)
        stats.measurements += len(tables.measurement)
        replica += 1
        if progress and replica % 10 == 0:
            progress(f"  preload: {stats.persons:,} persons, {stats.measurements:,} measurements, "
                     f"{time.perf_counter() - started:.0f} s")
    w.close()
    stats.seconds = time.perf_counter() - started
    return stats
