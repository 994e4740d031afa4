"""Issue #13 "field-ready": what a phone meets in the field (context, versions, QR)."""

from __future__ import annotations

from sqlmodel import Session

from models import Posyandu
from tests.support import OPENROSA, child_values, fill_submission, multipart_files


def _post(client, phone, xml):
    return client.post(f"{phone.prefix}/submission", headers=OPENROSA,
                       files=multipart_files(xml))


def test_a_submission_to_an_inactive_posyandu_is_refused_and_a_retry_of_one_before_is_not(
        client, phone, forms, db):
    before = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    assert _post(client, phone, before).status_code == 201
    with Session(db) as s:
        s.get(Posyandu, phone.posyandu_id).is_active = False
        s.commit()
    after = fill_submission(forms["anthropometry"], child_values(posyandu_id=phone.posyandu_id))
    r = _post(client, phone, after)
    assert r.status_code == 409
    assert r.headers["X-Posyandu-Error"] == "posyandu.inactive"
    assert "tidak aktif" in r.text
    assert _post(client, phone, before).status_code in (200, 201, 202)
