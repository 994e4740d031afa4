"""Hostile or broken input gets a clear 4xx and changes nothing."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from core.config import get_settings
from models import Attachment, Person, Submission
from tests.support import OPENROSA, child_values, fill_submission, multipart_files


def _nothing_stored(db) -> None:
    with Session(db) as s:
        for model in (Submission, Attachment, Person):
            assert s.exec(select(func.count()).select_from(model)).one() == 0, model


def _post_raw(client, phone, xml: bytes):
    return client.post(f"{phone.prefix}/submission", headers=OPENROSA,
                       files=multipart_files(xml))


def _valid_xml(forms, phone) -> bytes:
    return fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))


def test_external_entity_is_rejected_without_reading_the_file(client, phone, forms, db, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    body = _valid_xml(forms, phone).decode().split("?>", 1)[1]
    evil = (f'<?xml version="1.0"?><!DOCTYPE data [<!ENTITY xxe SYSTEM "file://{secret}">]>'
            + body.replace("<child_name>Siti Aminah</child_name>", "<child_name>&xxe;</child_name>"))
    r = _post_raw(client, phone, evil.encode())
    assert r.status_code == 400
    assert r.headers["X-Posyandu-Error"] == "submission.dtd" and "TOP-SECRET" not in r.text
    _nothing_stored(db)


def test_entity_expansion_bomb_is_rejected(client, phone, forms, db):
    # The 'billion laughs' shape: each entity is ten of the previous one (10^9 a's).
    bomb = ('<?xml version="1.0"?><!DOCTYPE data [<!ENTITY a "aaaaaaaaaa">'
            + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
                      for p, c in zip("abcdefgh", "bcdefghi"))
            + ']><data id="anthropometry">&i;</data>')
    r = _post_raw(client, phone, bomb.encode())
    assert r.status_code == 400
    _nothing_stored(db)


def test_external_dtd_is_rejected(client, phone, db):
    xml = b'<?xml version="1.0"?><!DOCTYPE data SYSTEM "http://127.0.0.1:9/x.dtd"><data id="anthropometry"/>'
    assert _post_raw(client, phone, xml).status_code == 400
    _nothing_stored(db)


@pytest.mark.parametrize("xml", [b"<data id='anthropometry'><meta>", b"not xml at all", b""])
def test_malformed_xml_is_400(client, phone, db, xml):
    r = _post_raw(client, phone, xml)
    assert r.status_code == 400
    assert "OpenRosaResponse" in r.text
    _nothing_stored(db)


def test_submission_without_instance_id_is_400(client, phone, db):
    r = _post_raw(client, phone, b'<data id="anthropometry" version="2026113001"><meta/></data>')
    assert r.status_code == 400 and "instanceID" in r.text
    _nothing_stored(db)


def test_body_over_the_advertised_limit_is_413(client, phone, forms, db, monkeypatch):
    monkeypatch.setattr(get_settings(), "max_submission_bytes", 4096)
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA,
                    files=multipart_files(_valid_xml(forms, phone), {"big.jpg": b"x" * 10_000}))
    assert r.status_code == 413
    _nothing_stored(db)


def test_chunked_body_over_the_limit_is_413(client, phone, forms, db, monkeypatch):
    monkeypatch.setattr(get_settings(), "max_submission_bytes", 2048)

    def chunks():
        yield b"--b\r\nContent-Disposition: form-data; name=\"xml_submission_file\"\r\n\r\n"
        for _ in range(100):
            yield b"x" * 100

    r = client.post(f"{phone.prefix}/submission", content=chunks(),
                    headers={**OPENROSA, "Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413
    _nothing_stored(db)


def test_malformed_multipart_is_400(client, phone, db):
    r = client.post(f"{phone.prefix}/submission", content=b"--zzz\r\ngarbage",
                    headers={**OPENROSA, "Content-Type": "multipart/form-data; boundary=other"})
    assert r.status_code == 400
    _nothing_stored(db)


def test_non_multipart_and_missing_xml_part_are_400(client, phone, forms, db):
    r = client.post(f"{phone.prefix}/submission", content=_valid_xml(forms, phone),
                    headers={**OPENROSA, "Content-Type": "text/xml"})
    assert r.status_code == 400
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA,
                    files=[("photo", ("a.jpg", b"x", "image/jpeg"))])
    assert r.status_code == 400 and r.headers["X-Posyandu-Error"] == "submission.no_xml_part"
    _nothing_stored(db)


@pytest.mark.parametrize("name,stored", [("../../etc/passwd", "passwd"),
                                         ("..\\..\\win.ini", "win.ini"),
                                         ("foto kms (1).jpg", "foto_kms_1_.jpg")])
def test_attachment_names_are_sanitised(client, phone, forms, db, name, stored):
    xml = _valid_xml(forms, phone)
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA,
                    files=[("xml_submission_file", ("submission.xml", xml, "text/xml")),
                           ("f", (name, b"data", "image/jpeg"))])
    assert r.status_code == 201
    with Session(db) as s:
        assert s.exec(select(Attachment.name)).all() == [stored]
