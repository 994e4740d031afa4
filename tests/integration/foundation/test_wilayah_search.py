"""GET /api/v1/wilayah?name=: a newcomer looks a kelurahan up by name, not by code."""

from tests.support import bearer


def test_wilayah_are_found_by_part_of_their_name_in_any_case(client, make_user):
    make_user("cari", "supervisor", ["33.75"])
    headers = bearer(client, "cari", "password-123")
    answer = client.get("/api/v1/wilayah", headers=headers, params={"name": "MEDONO"})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert [(w["code"], w["level"]) for w in found["items"]] == [("33.75.01.1002", "kelurahan")]
    assert found["total"] == 1
    both = client.get("/api/v1/wilayah", headers=headers,
                      params={"name": "pekalongan", "level": "kecamatan"}).json()
    assert both["items"] and all("Pekalongan" in w["name"] for w in both["items"])
    assert all(w["level"] == "kecamatan" for w in both["items"])
    # Wildcards are letters, not patterns.
    assert client.get("/api/v1/wilayah", headers=headers,
                      params={"name": "%_"}).json()["items"] == []
    assert client.get("/api/v1/wilayah", headers=headers, params={"name": "m"}).status_code == 422
