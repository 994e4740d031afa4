"""Attacks the developers maintain: every route (app.routes, walked, plus the OpenRosa
submission pair) has a spec here, so a new endpoint without one fails
`test_every_route_has_an_attack_spec`. For each: every role against what it may not
do, forged and dead credentials, and (with two posyandu's field records) each scope
against the other's ids, filters, pick lists, feeds and writes."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field

import jwt as pyjwt
import pytest
from sqlmodel import Session, select

from core import security
from models import Household, Person, Posyandu, Submission
from sync import accounts
from tests.security import csrf
from tests.security.routes import all_routes
from tests.support import (
    ADMIN_PASSWORD,
    KELURAHAN,
    OPENROSA,
    OTHER_KELURAHAN,
    bearer,
    child_values,
    fill_submission,
    multipart_files,
)

ROLES = ("kader", "supervisor", "agency", "admin")
ANY = frozenset(ROLES)
REVIEW = frozenset({"supervisor", "admin"})
ADMIN = frozenset({"admin"})


@dataclass(frozen=True)
class Spec:
    kind: str  # public | json | openrosa | hook | console
    roles: frozenset = ANY  # who may call it (json)
    body: dict | None = field(default=None, hash=False)


_PUSH = {"device_id": "attack", "mutations": []}
ROUTES: dict[tuple[str, str], Spec] = {
    ("GET", "/healthz"): Spec("public"), ("GET", "/readyz"): Spec("public"),
    ("GET", "/docs"): Spec("public"), ("GET", "/docs/oauth2-redirect"): Spec("public"),
    ("GET", "/docs/swagger-init.js"): Spec("public"), ("GET", "/redoc"): Spec("public"),
    ("GET", "/openapi.json"): Spec("public"), ("HEAD", "/openapi.json"): Spec("public"),
    ("POST", "/api/v1/auth/token"): Spec("public"),
    ("POST", "/api/v1/intake/kobo/{hook_id}"): Spec("hook"),
    ("GET", "/api/v1/auth/me"): Spec("json"),
    ("PUT", "/api/v1/auth/me/password"): Spec("json", body={"current_password": "wrong-one",
                                                             "new_password": "new-pass-123"}),
    ("GET", "/api/v1/wilayah"): Spec("json"),
    ("GET", "/api/v1/posyandu"): Spec("json"),
    ("POST", "/api/v1/posyandu"): Spec("json", REVIEW, {"kelurahan_code": OTHER_KELURAHAN,
                                                        "name": "Attack"}),
    ("PATCH", "/api/v1/posyandu/{posyandu_id}"): Spec("json", REVIEW, {"name": "Renamed"}),
    ("GET", "/api/v1/measurements"): Spec("json"),
    ("GET", "/api/v1/pregnancy-screenings"): Spec("json"),
    ("GET", "/api/v1/sanitation-checks"): Spec("json"),
    ("GET", "/api/v1/sync/snapshot"): Spec("json"),
    ("GET", "/api/v1/sync/changes"): Spec("json"),
    ("POST", "/api/v1/sync/push"): Spec("json", ANY - {"agency"}, _PUSH),
    ("GET", "/api/v1/submissions"): Spec("json", REVIEW),
    ("GET", "/api/v1/submissions/{submission_id}"): Spec("json", REVIEW),
    ("POST", "/api/v1/submissions/{submission_id}/reprocess"): Spec("json", REVIEW),
    ("GET", "/api/v1/conflicts"): Spec("json", REVIEW),
    ("GET", "/api/v1/conflicts/{conflict_id}"): Spec("json", REVIEW),
    ("POST", "/api/v1/conflicts/{conflict_id}/resolve"): Spec("json", REVIEW,
                                                              {"choose": "incoming"}),
    ("GET", "/api/v1/devices"): Spec("json", REVIEW),
    ("GET", "/api/v1/users"): Spec("json", ADMIN),
    ("POST", "/api/v1/users"): Spec("json", ADMIN, {"username": "mallory", "role": "admin",
                                                    "password": "mallory-pass-1"}),
    ("PATCH", "/api/v1/users/{username}"): Spec("json", ADMIN, {"nik_full": True}),
    ("POST", "/api/v1/users/{username}/password"): Spec("json", ADMIN,
                                                        {"password": "taken-over-1"}),
    ("GET", "/api/v1/users/{username}/app-tokens"): Spec("json", ADMIN),
    ("POST", "/api/v1/users/{username}/app-tokens"): Spec("json", ADMIN, {}),
    ("POST", "/api/v1/users/{username}/collect-qr"): Spec("json", ADMIN),
    ("DELETE", "/api/v1/app-tokens/{token_id}"): Spec("json", ADMIN),
    ("GET", "/api/v1/kobo-hooks"): Spec("json", ADMIN),
    ("POST", "/api/v1/kobo-hooks"): Spec("json", ADMIN, {"name": "x", "form_id": "anthropometry",
                                                         "username": "kader"}),
    ("GET", "/api/v1/access-log"): Spec("json", ADMIN),
    ("GET", "/api/v1/access-log/export"): Spec("json", ADMIN),
    # identity (#14): everyone reads in scope; only supervisors decide
    ("GET", "/api/v1/duplicates"): Spec("json"),
    ("GET", "/api/v1/duplicates/{pair_id}"): Spec("json"),
    ("POST", "/api/v1/duplicates/{pair_id}/dismiss"): Spec("json", REVIEW),
    ("POST", "/api/v1/duplicates/{pair_id}/merge"): Spec("json", REVIEW,
                                                         {"survivor_id": "x", "values": {}}),
    ("GET", "/api/v1/persons"): Spec("json"),
    ("GET", "/api/v1/persons/{person_id}"): Spec("json"),
    ("POST", "/api/v1/persons/{person_id}/unmerge"): Spec("json", REVIEW),
    ("GET", "/api/v1/households"): Spec("json"),
    ("GET", "/api/v1/households/{household_id}"): Spec("json"),
    ("POST", "/api/v1/households/{household_id}/unmerge"): Spec("json", REVIEW),
    # caseloads (#16): aggregates for everyone in scope; case lists by programme grant
    ("GET", "/api/v1/caseloads"): Spec("json"),
    ("GET", "/api/v1/caseloads/{code}"): Spec("json"),
    ("GET", "/api/v1/caseloads/{code}/series"): Spec("json"),
    ("GET", "/api/v1/caseloads/{code}/cases"): Spec("json"),
    ("PUT", "/api/v1/targets/{code}/{year}"): Spec("json", ADMIN, {"stunting_prevalence": 0.5}),
    ("GET", "/api/v1/users/{username}/programs"): Spec("json", ADMIN),
    ("PUT", "/api/v1/users/{username}/programs"): Spec("json", ADMIN,
                                                       {"programs": ["nutrition"]}),
    ("POST", "/api/v1/interventions"): Spec("json", ANY - {"kader"}, {
        "program": "nutrition", "type": "pmt", "delivered_on": "2026-11-01",
        "person_id": "00000000-0000-0000-0000-000000000000"}),
    ("GET", "/api/v1/interventions"): Spec("json"),
    ("GET", "/api/v1/interventions/{intervention_id}"): Spec("json"),
    ("PATCH", "/api/v1/interventions/{intervention_id}"): Spec("json", ANY - {"kader"},
                                                               {"notes": "changed"}),
    ("DELETE", "/api/v1/interventions/{intervention_id}"): Spec("json", ANY - {"kader"}),
}
# The console (api/console): signed-in by cookie, so every unsafe one is attacked for
# CSRF below (tests/security/csrf.py); its roles and scopes are tested in
# tests/integration/console.
CONSOLE_ROUTES = (
    ("GET", "/admin"),
    ("GET", "/admin/cases"),
    ("GET", "/admin/cases/download"),
    ("GET", "/admin/conflicts"),
    ("GET", "/admin/conflicts/{conflict_id}"),
    ("GET", "/admin/duplicates"),
    ("GET", "/admin/duplicates/{pair_id}"),
    ("GET", "/admin/households/{household_id}"),
    ("GET", "/admin/lang/{code}"),
    ("GET", "/admin/login"),
    ("GET", "/admin/password"),
    ("GET", "/admin/persons/{person_id}"),
    ("GET", "/admin/registry"),
    ("GET", "/admin/submissions"),
    ("GET", "/admin/submissions/{submission_id}"),
    ("GET", "/admin/submissions/{submission_id}/attachments/{name}"),
    ("GET", "/admin/users"),
    ("GET", "/admin/users/{username}"),
    ("POST", "/admin/app-tokens/{token_id}/revoke"),
    ("POST", "/admin/conflicts/{conflict_id}/resolve"),
    ("POST", "/admin/duplicates/{pair_id}/dismiss"),
    ("POST", "/admin/duplicates/{pair_id}/merge"),
    ("POST", "/admin/households/{household_id}/unmerge"),
    ("POST", "/admin/interventions"),
    ("POST", "/admin/login"),
    ("POST", "/admin/logout"),
    ("POST", "/admin/password"),
    ("POST", "/admin/persons/{person_id}/unmerge"),
    ("POST", "/admin/submissions/{submission_id}/reprocess"),
    ("POST", "/admin/users"),
    ("POST", "/admin/users/{username}/active"),
    ("POST", "/admin/users/{username}/collect-qr"),
    ("POST", "/admin/users/{username}/programs"),
)
for _method, _path in CONSOLE_ROUTES:
    ROUTES[(_method, _path)] = Spec("console")
for _prefix in ("", "/key/{token}"):
    for _method, _path in (("GET", "/formList"), ("GET", "/forms/{form_id}/form.xml"),
                           ("GET", "/forms/{form_id}/manifest"),
                           ("GET", "/forms/{form_id}/media/{name}"),
                           ("GET", "/entity-lists/{name}/integrity"), ("HEAD", "/submission"),
                           ("POST", "/submission")):
        ROUTES[(_method, _prefix + _path)] = Spec("openrosa")


def test_every_route_has_an_attack_spec(app):
    routes = set(all_routes(app))
    missing = sorted(routes - set(ROUTES))
    assert not missing, f"routes without an attack spec in tests/security/test_attacks.py: {missing}"
    assert not sorted(set(ROUTES) - routes), "specs of routes that no longer exist"


def test_no_route_reads_a_session_cookie(client, admin_user):
    """With no cookie-authenticated route there is no CSRF to forge (tests/security/csrf.py):
    a valid session sent as a cookie is ignored everywhere."""
    token = bearer(client, "admin", ADMIN_PASSWORD)["Authorization"].split()[1]
    for cookie in ("access_token", "session", "token", "Authorization"):
        client.cookies.set(cookie, token)
    r = client.get("/api/v1/auth/me")
    client.cookies.clear()
    assert r.status_code == 401


# ---------------------------------------------------------------- the cast


@dataclass
class Cast:
    headers: dict[str, dict]  # role -> Authorization header
    ids: dict[str, str]  # path parameter -> a value that exists
    device_tokens: dict[str, str]


@pytest.fixture
def cast(client, db, make_user, admin_user, forms, posyandu_id) -> Cast:
    for role in ("kader", "supervisor", "agency"):
        scope = [f"posyandu:{posyandu_id}"] if role == "kader" else [KELURAHAN]
        make_user(role, role, scope, password=f"{role}-pass-1", agency="Dinkes")
    headers = {role: bearer(client, role, f"{role}-pass-1") for role in ROLES if role != "admin"}
    headers["admin"] = bearer(client, "admin", ADMIN_PASSWORD)
    # the account that user-admin routes act on (so the cast keeps its sessions)
    make_user("victim", "agency", [KELURAHAN], password="victim-pass-1", agency="Dinkes")
    with Session(db, expire_on_commit=False) as s:
        tokens = {}
        for role in ("kader", "agency", "victim"):
            row, tokens[role] = accounts.create_app_token(
                s, user=accounts.get_user_by_username(s, role))
        s.commit()
    return Cast(headers, {"posyandu_id": str(posyandu_id), "submission_id": "1",
                          "conflict_id": "1", "username": "victim", "token_id": str(row.id),
                          "hook_id": str(uuid.uuid4()), "form_id": "anthropometry",
                          "name": "children.csv", "token": tokens["kader"],
                          "pair_id": "1", "person_id": str(uuid.uuid4()),
                          "household_id": str(uuid.uuid4()), "intervention_id": "1",
                          "code": KELURAHAN, "year": "2024"}, tokens)


def _url(path: str, ids: dict) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path


def _call(client, method, path, spec, ids, headers):
    kwargs = {"headers": headers}
    if spec.body is not None:
        kwargs["json"] = spec.body
    return client.request(method, _url(path, ids), **kwargs)


JSON_ROUTES = sorted(key for key, spec in ROUTES.items() if spec.kind == "json")
OPENROSA_ROOT = sorted(key for key, spec in ROUTES.items()
                       if spec.kind == "openrosa" and not key[1].startswith("/key/"))
OPENROSA_KEYED = sorted(key for key, spec in ROUTES.items()
                        if spec.kind == "openrosa" and key[1].startswith("/key/"))


def test_each_role_gets_only_what_its_role_allows(client, cast):
    """Every JSON route, every role (one set-up: argon2 makes accounts slow to create)."""
    wrong = []
    for method, path in JSON_ROUTES:
        spec = ROUTES[(method, path)]
        for role in ROLES:
            r = _call(client, method, path, spec, cast.ids, cast.headers[role])
            if role in spec.roles:
                refused = r.status_code in (401, 403) and r.json()["error"] not in (
                    "auth.scope", "submission.scope", "posyandu.scope",
                    "caseload.program_not_granted")  # a grant, like a scope
            else:
                refused = not (r.status_code == 403 and r.json()["error"] == "auth.role")
            if refused:
                wrong.append((role, method, path, r.status_code, r.text[:120]))
    assert wrong == []


def _forged_tokens(client, db) -> dict[str, str]:
    """Bearer tokens an attacker could make or keep, for the admin account."""
    real = bearer(client, "admin", ADMIN_PASSWORD)["Authorization"].split()[1]
    header, payload, signature = real.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    with Session(db) as s:
        secret = accounts.jwt_secret(s)
    b64 = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return {
        "tampered_claims": f"{header}.{b64({**claims, 'sub': '999', 'role': 'admin'})}.{signature}",
        "tampered_signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "alg_none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.",
        "alg_none_upper": f"{b64({'alg': 'NONE', 'typ': 'JWT'})}.{b64(claims)}.",
        "other_secret": pyjwt.encode(claims, "not-the-server-secret-but-long-enough-0123",
                                     algorithm="HS256"),
        "hs512_same_secret": pyjwt.encode(claims, secret, algorithm="HS512"),
        "expired": security.encode_access_token(subject=claims["sub"], secret=secret,
                                                minutes=-1, extra={"cv": claims["cv"]}),
        "no_version": security.encode_access_token(subject=claims["sub"], secret=secret,
                                                   minutes=5),
        "not_a_jwt": "definitely-not-a-token",
    }


def test_forged_missing_and_dead_credentials_are_refused(client, db, cast):
    attempts = {"none": {}, "basic": {"Authorization": "Basic " + base64.b64encode(
        f"admin:{ADMIN_PASSWORD}".encode()).decode()},
        "device_token_as_bearer": {"Authorization": f"Bearer {cast.device_tokens['kader']}"}}
    attempts |= {name: {"Authorization": f"Bearer {token}"}
                 for name, token in _forged_tokens(client, db).items()}
    wrong = []
    for method, path in JSON_ROUTES:
        spec = ROUTES[(method, path)]
        for name, headers in attempts.items():
            r = _call(client, method, path, spec, cast.ids, headers)
            if r.status_code != 401:
                wrong.append((name, method, path, r.status_code, r.text[:120]))
    assert wrong == []


def test_deactivated_and_password_changed_sessions_end_on_every_route(client, cast):
    old_admin = cast.headers["admin"]
    other = {"kader": cast.headers["kader"]}
    # the kader changes their password: their earlier token is dead everywhere
    r = client.put("/api/v1/auth/me/password", headers=other["kader"],
                   json={"current_password": "kader-pass-1", "new_password": "kader-pass-2"})
    assert r.status_code == 200
    # a second admin deactivates the first
    client.post("/api/v1/users", headers=old_admin, json={
        "username": "admin2", "password": "admin2-pass-1", "role": "admin"})
    admin2 = bearer(client, "admin2", "admin2-pass-1")
    assert client.patch("/api/v1/users/admin", headers=admin2,
                        json={"is_active": False}).status_code == 200
    for method, path in JSON_ROUTES:
        spec = ROUTES[(method, path)]
        for who, headers in (("kader", other["kader"]), ("admin", old_admin)):
            r = _call(client, method, path, spec, cast.ids, headers)
            assert r.status_code == 401, (who, method, path, r.text)
            assert r.json()["error"] in ("auth.revoked", "auth.inactive")


def _openrosa_call(client, cast, forms, method, path, ids=None, **kwargs):
    if method == "POST":  # a real submission: its body is read before the credentials
        kwargs["files"] = multipart_files(fill_submission(forms["anthropometry"],
                                                          child_values(posyandu_id=1)))
    return client.request(method, _url(path, {**cast.ids, **(ids or {})}),
                          headers={**OPENROSA, **kwargs.pop("headers", {})}, **kwargs)


def test_openrosa_refuses_unknown_revoked_and_disabled_device_tokens(client, db, cast, forms):
    wrong = []

    def expect(status, method, path, **kwargs):
        r = _openrosa_call(client, cast, forms, method, path, **kwargs)
        if r.status_code != status:
            wrong.append((method, path, kwargs.get("ids"), r.status_code, r.text[:100]))
        return r

    for method, path in OPENROSA_KEYED:
        expect(401, method, path, ids={"token": "x" * 48})
        expect(401, method, path, ids={"token": cast.device_tokens["kader"] + "x"})
    with Session(db) as s:
        kader = accounts.get_user_by_username(s, "kader")
        for row in accounts.list_app_tokens(s, kader):
            accounts.revoke_app_token(s, token_id=row.id)
        accounts.update_user(s, user=accounts.get_user_by_username(s, "agency"),
                             actor_id=None, is_active=False)  # revokes its tokens too
        s.commit()
    for method, path in OPENROSA_KEYED:
        r = expect(403, method, path)
        if method != "HEAD":
            assert r.headers["X-Posyandu-Error"] == "auth.revoked_app_token"
        expect(403, method, path, ids={"token": cast.device_tokens["agency"]})
    assert wrong == []


def test_openrosa_basic_refuses_missing_wrong_and_disabled_accounts(client, db, cast, forms):
    wrong = []

    def expect(status, method, path, **kwargs):
        r = _openrosa_call(client, cast, forms, method, path, **kwargs)
        if r.status_code != status:
            wrong.append((method, path, status, r.status_code, r.text[:100]))

    for method, path in OPENROSA_ROOT:
        expect(401, method, path)
        expect(401, method, path, auth=("kader", "wrong-password"))
        expect(401, method, path, headers={"Authorization": "Basic !!!"})
        expect(401, method, path, headers=cast.headers["admin"])  # a JWT is not Basic
    with Session(db) as s:
        accounts.update_user(s, user=accounts.get_user_by_username(s, "kader"),
                             actor_id=None, is_active=False)
        s.commit()
    for method, path in OPENROSA_ROOT:
        expect(403, method, path, auth=("kader", "kader-pass-1"))
    assert wrong == []


def test_a_kobo_hook_refuses_unknown_hooks_and_wrong_secrets(client, cast, forms):
    r = client.post(f"/api/v1/intake/kobo/{uuid.uuid4()}", json={"_uuid": "x"})
    assert r.status_code == 404
    created = client.post("/api/v1/kobo-hooks", headers=cast.headers["admin"], json={
        "name": "K", "form_id": "anthropometry", "username": "kader"}).json()
    url = f"/api/v1/intake/kobo/{created['id']}"
    assert client.post(url, json={"_uuid": "x"}).status_code == 401
    assert client.post(url, json={"_uuid": "x"}, headers={"X-Hook-Secret": "guess"}
                       ).status_code == 401
    assert client.post(url, json={"_uuid": "x"}, auth=("kobo", created["secret"][:-1] + "x")
                       ).status_code == 401


def test_console_routes_are_csrf_tested(app, client, admin_user):
    for (method, path), spec in ROUTES.items():
        if spec.kind == "console" and method not in ("GET", "HEAD"):
            csrf.attack_console_route(client, method, path)


# ---------------------------------------------------------------- scope against scope


@pytest.fixture
def other_scope(db, field):
    """Ids in posyandu B (OTHER_KELURAHAN) that posyandu A's accounts must never reach."""
    with Session(db) as s:
        b_posyandu = s.exec(select(Posyandu.id).where(
            Posyandu.kelurahan_code == OTHER_KELURAHAN)).one()
        return {
            "posyandu_id": b_posyandu,
            "child": s.exec(select(Person.id).where(Person.name == "Ayu Lestari")).one(),
            "woman": s.exec(select(Person.id).where(Person.name == "Ani Susanti")).one(),
            "household": s.exec(select(Household.id).where(
                Household.kelurahan_code == OTHER_KELURAHAN)).first(),
            "submission": s.exec(select(Submission.id).where(
                Submission.kelurahan_code == OTHER_KELURAHAN)).first(),
            "names": ("Ayu Lestari", "Ani Susanti", "Pak Hadi"),
        }


@pytest.fixture
def scoped(client, make_user, field):
    """A's accounts: the phone's kader, a supervisor and an agency of A's kelurahan."""
    make_user("spv-a", "supervisor", [KELURAHAN], password="spv-pass-1")
    make_user("dinkes-a", "agency", [KELURAHAN], password="agency-pass-1", agency="Dinkes")
    return {"kader": bearer(client, field.kader_a.username, field.kader_a.password),
            "supervisor": bearer(client, "spv-a", "spv-pass-1"),
            "agency": bearer(client, "dinkes-a", "agency-pass-1")}


def test_other_scopes_ids_are_not_found(client, scoped, other_scope):
    spv = scoped["supervisor"]
    sid = other_scope["submission"]
    assert client.get(f"/api/v1/submissions/{sid}", headers=spv).status_code == 404
    assert client.post(f"/api/v1/submissions/{sid}/reprocess", headers=spv).status_code == 404
    r = client.patch(f"/api/v1/posyandu/{other_scope['posyandu_id']}", headers=spv,
                     json={"name": "Taken"})
    assert r.status_code in (403, 404)
    r = client.post("/api/v1/posyandu", headers=spv, json={"kelurahan_code": OTHER_KELURAHAN,
                                                            "name": "Planted"})
    assert r.status_code == 403


@pytest.mark.parametrize("role", ["kader", "supervisor", "agency"])
def test_filters_naming_another_scope_return_nothing(client, scoped, other_scope, role):
    h = scoped[role]
    for path, params in (
            ("/api/v1/measurements", {"kelurahan_code": OTHER_KELURAHAN}),
            ("/api/v1/measurements", {"posyandu_id": other_scope["posyandu_id"]}),
            ("/api/v1/measurements", {"person_id": other_scope["child"]}),
            ("/api/v1/pregnancy-screenings", {"woman_id": other_scope["woman"]}),
            ("/api/v1/pregnancy-screenings", {"kelurahan_code": OTHER_KELURAHAN}),
            ("/api/v1/sanitation-checks", {"household_id": other_scope["household"]}),
            ("/api/v1/sanitation-checks", {"kelurahan_code": OTHER_KELURAHAN}),
            ("/api/v1/posyandu", {"kelurahan_code": OTHER_KELURAHAN})):
        r = client.get(path, headers=h, params=params)
        assert r.status_code == 200 and r.json()["total"] == 0, (path, params, r.text)
    # and without a filter, none of B's people appear in any list or feed
    for path in ("/api/v1/measurements", "/api/v1/pregnancy-screenings",
                 "/api/v1/sanitation-checks", "/api/v1/sync/snapshot", "/api/v1/sync/changes"):
        text = client.get(path, headers=h).text
        for name in other_scope["names"]:
            assert name not in text, (role, path, name)
        assert other_scope["child"] not in text


def test_pick_lists_carry_only_the_callers_people(client, field, other_scope):
    for form, name in (("anthropometry", "children.csv"), ("pregnancy_screening", "women.csv"),
                       ("sanitation_check", "households.csv")):
        text = client.get(f"{field.kader_a.prefix}/forms/{form}/media/{name}",
                          headers=OPENROSA).text
        for person in other_scope["names"]:
            assert person not in text, (name, person)
        assert other_scope["child"] not in text and other_scope["household"] not in text


def test_writes_naming_another_scopes_people_are_refused(client, db, field, scoped,
                                                         other_scope, forms):
    kader = scoped["kader"]
    mutations = [
        {"mutation_id": "m1", "entity": "person", "id": other_scope["child"], "op": "update",
         "base_version": 1, "changes": {"name": "Ayu Diganti"}},
        {"mutation_id": "m2", "entity": "household", "id": other_scope["household"],
         "op": "update", "base_version": 1, "changes": {"head_name": "Pak Palsu"}},
        {"mutation_id": "m3", "entity": "person", "id": str(uuid.uuid4()), "op": "create",
         "changes": {"name": "Planted", "sex": "female", "kelurahan_code": OTHER_KELURAHAN}},
        {"mutation_id": "m4", "entity": "person", "id": other_scope["child"], "op": "delete",
         "base_version": 1},
    ]
    r = client.post("/api/v1/sync/push", headers=kader,
                    json={"device_id": "attacker", "mutations": mutations})
    assert r.status_code == 200
    assert [x["status"] for x in r.json()["results"]] == ["rejected"] * 4, r.json()
    # an OpenRosa submission for B's kelurahan, and one naming B's child by registry id
    phone = field.kader_a
    xml = fill_submission(forms["anthropometry"], child_values(
        posyandu_id=phone.posyandu_id, kelurahan_code=OTHER_KELURAHAN))
    r = client.post(f"{phone.prefix}/submission", headers=OPENROSA, files=multipart_files(xml))
    assert r.status_code == 403 and r.headers["X-Posyandu-Error"] == "submission.scope"
    xml = fill_submission(forms["anthropometry"], child_values(
        posyandu_id=phone.posyandu_id, is_new_child="no", child_id=other_scope["child"],
        child_name="Ayu Lestari", child_nik="", mother_nik="", household_kk=""))
    client.post(f"{phone.prefix}/submission", headers=OPENROSA, files=multipart_files(xml))
    with Session(db) as s:
        ayu = s.get(Person, other_scope["child"])
        household = s.get(Household, other_scope["household"])
        assert (ayu.name, ayu.kelurahan_code, ayu.version) == ("Ayu Lestari", OTHER_KELURAHAN, 1)
        assert household.head_name == "Pak Hadi"
        assert not s.exec(select(Person).where(Person.name == "Planted")).all()
        from models import Measurement
        assert len(s.exec(select(Measurement).where(
            Measurement.person_id == other_scope["child"])).all()) == 1  # only B's own
