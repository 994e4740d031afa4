"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

ADMIN_PASSWORD = "admin-password-1"
KELURAHAN = "33.75.01.1002"  # Medono, Pekalongan Barat
OTHER_KELURAHAN = "33.75.04.1002"  # Banyurip, Pekalongan Selatan


def add_posyandu(db, kelurahan_code: str, name: str) -> int:
    """A posyandu committed to the database `db` (an engine); returns its id."""
    from sqlmodel import Session

    from models import Posyandu

    with Session(db) as s:
        row = Posyandu(kelurahan_code=kelurahan_code, name=name)
        s.add(row)
        s.commit()
        return row.id


def bearer(client, username: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# ---------------------------------------------------------------- OpenRosa

OPENROSA = {"X-OpenRosa-Version": "1.0"}


def fill_submission(form_xml: bytes, values: dict, *, instance_id: str | None = None,
                    deprecated_id: str | None = None) -> bytes:
    """A submission as ODK Collect makes it: the form's primary instance, filled in."""
    import copy
    import uuid

    from lxml import etree

    ns = {"h": "http://www.w3.org/1999/xhtml", "xf": "http://www.w3.org/2002/xforms"}
    form = etree.fromstring(form_xml, etree.XMLParser(resolve_entities=False, no_network=True))
    root = copy.deepcopy(form.xpath("/h:html/h:head/xf:model/xf:instance[1]/*[1]", namespaces=ns)[0])
    for element in root.iter():
        name = etree.QName(element).localname
        if name in values and not len(element):
            value = values[name]
            element.text = "" if value is None else str(value)
    meta = root.find("{*}meta") if root.find("{*}meta") is not None else root.find("meta")
    meta.find("{*}instanceID" if meta.find("{*}instanceID") is not None else "instanceID").text = (
        instance_id or f"uuid:{uuid.uuid4()}")
    if deprecated_id:
        etree.SubElement(meta, "deprecatedID").text = deprecated_id
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def multipart_files(xml: bytes, attachments: dict[str, bytes] | None = None) -> list:
    files = [("xml_submission_file", ("submission.xml", xml, "text/xml"))]
    for name, data in (attachments or {}).items():
        files.append((name, (name, data, "image/jpeg")))
    return files


def child_values(**overrides) -> dict:
    values = {
        "is_new_child": "yes", "child_id": "", "child_nik": "3375014403240001",
        "child_name": "Siti Aminah", "child_sex": "female", "child_birth_date": "2024-03-04",
        "mother_name": "Rina Wati", "mother_nik": "3375015507950002",
        "household_kk": "3375010101200003", "kelurahan_code": KELURAHAN,
        "measured_on": "2026-11-02", "weight_kg": "9.1", "length_height_cm": "80.2",
        "measure_method": "lying", "muac_cm": "14.1", "oedema": "no",
    }
    values.update(overrides)
    return values


def entity_submission(form_xml: bytes, values: dict, *, entity_id: str, create: bool,
                       base: int | None = None, trunk: int | None = None,
                       branch: str | None = None, instance_id: str | None = None) -> bytes:
    """A submission as Collect finalises it: the entity block's attributes are the values
    of pyxform's binds (create/update conditions, the id, the versions the phone's list
    held for it)."""
    xml = fill_submission(form_xml, {**values, "new_child_id": entity_id if create else "x"},
                          instance_id=instance_id)
    from lxml import etree

    root = etree.fromstring(xml)
    entity = root.find("{*}meta/{*}entity")
    assert entity is not None and entity.get("dataset") == "children"
    entity.set("id", entity_id)
    entity.set("create", "true" if create else "false")
    entity.set("update", "false" if create else "true")
    entity.set("baseVersion", "" if base is None else str(base))
    entity.set("trunkVersion", "" if trunk is None else str(trunk))
    entity.set("branchId", branch or "")
    entity.find("{*}label").text = values.get("child_name", "")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


async def run_as_one_group(writer, works: list) -> list:
    """Store `works` through an sync.writer.SubmissionWriter so that they
    form one group: a first work holds the writer until all the others are queued.
    Returns their outcomes (results or exceptions), in order."""
    import asyncio
    import threading

    release = threading.Event()

    def hold(tx):
        release.wait(10)
        return "held"

    first = asyncio.ensure_future(writer.store(hold))
    await asyncio.sleep(0.05)
    rest = [asyncio.ensure_future(writer.store(work)) for work in works]
    await asyncio.sleep(0.05)
    release.set()
    await first
    return await asyncio.gather(*rest, return_exceptions=True)
