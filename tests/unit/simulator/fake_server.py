"""A tiny fake OpenRosa server (plus the admin endpoints the simulator uses) on an
`httpx.MockTransport`, so the phone client and the fleet can be tested without the app.

It behaves like the real contract in the few ways the simulator depends on: absolute
download/manifest URLs under the token URL, HEAD 204 with an accepted content length,
201 for a new instanceID, 202 for the same bytes again, 409 for other bytes under the
same instanceID, and per-form pick lists (`children.csv`, ...) that grow as subjects are
registered and whose manifest hash changes with their content.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import parse_qs

import httpx

from api.openrosa_body import parse_multipart as parse_parts
from clients.kobo_forms.build import FORM_MEDIA, MEDIA_COLUMNS, build_xform
from sync.submission_xml import flatten_leaves, safe_parse

BASE = "http://sim.test"


@cache
def form_xml(form_id: str) -> bytes:
    return build_xform(form_id).xml


def read_submission(xml: bytes) -> tuple[str, dict[str, str]]:
    """(form id, answers by leaf name) of a submission, read as the real server reads it."""
    root = safe_parse(xml)
    return root.get("id"), flatten_leaves(root)


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str, str, bytes]]:
    """name -> (filename, content type, content) of a multipart/form-data body, split by
    the real server's reader."""
    return {p.name: (p.filename or "", p.content_type, p.data)
            for p in parse_parts(body, content_type)}


_SUBJECT = {  # form -> (media file, new flag, id field, columns copied from the answers)
    "anthropometry": ("children.csv", "is_new_child", "child_id", {
        "nik": "child_nik", "full_name": "child_name", "sex": "child_sex",
        "birth_date": "child_birth_date", "mother_name": "mother_name",
        "mother_nik": "mother_nik", "household_kk": "household_kk",
        "kelurahan_code": "kelurahan_code", "posyandu_id": "posyandu_id"}),
    "pregnancy_screening": ("women.csv", "is_new_woman", "woman_id", {
        "nik": "woman_nik", "full_name": "woman_name", "birth_date": "woman_birth_date",
        "household_kk": "household_kk", "kelurahan_code": "kelurahan_code",
        "posyandu_id": "posyandu_id"}),
    "sanitation_check": ("households.csv", "is_new_household", "household_id", {
        "kk": "household_kk", "head_name": "head_name", "kelurahan_code": "kelurahan_code",
        "address": "address", "rt": "rt", "rw": "rw"}),
}


@dataclass
class FakeServer:
    """State and request log of the fake server."""

    token: str = "tok"
    max_content_length: int = 10_000_000
    stored: dict[str, bytes] = field(default_factory=dict)  # instanceID -> xml
    answers: dict[str, dict[str, str]] = field(default_factory=dict)
    lists: dict[str, list[dict[str, str]]] = field(
        default_factory=lambda: {name: [] for name in MEDIA_COLUMNS})
    log: list[httpx.Request] = field(default_factory=list)
    posyandu: list[dict] = field(default_factory=list)
    users: dict[str, list[str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> username
    next_id: int = 1

    def __post_init__(self) -> None:
        self.tokens.setdefault(self.token, "kader")

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport(), base_url=BASE)

    def url(self, token: str | None = None) -> str:
        return f"{BASE}/key/{token or self.token}"

    def media_csv(self, name: str) -> bytes:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=MEDIA_COLUMNS[name], lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.lists[name])
        return out.getvalue().encode()

    def requests(self, method: str | None = None, path_end: str = "") -> list[httpx.Request]:
        return [r for r in self.log if (method is None or r.method == method)
                and r.url.path.endswith(path_end)]

    # --- routing

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        path = request.url.path
        if path.startswith("/api/v1/"):
            return self.admin(request, path.removeprefix("/api/v1/"))
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "key" or parts[1] not in self.tokens:
            return httpx.Response(403, text="<OpenRosaResponse xmlns='http://openrosa.org/http/"
                                  "response'><message>Bad token</message></OpenRosaResponse>")
        if request.headers.get("X-OpenRosa-Version") != "1.0":
            return httpx.Response(400, text="missing X-OpenRosa-Version")
        root = f"{BASE}/key/{parts[1]}"
        rest = parts[2:]
        if rest == ["formList"]:
            return self.form_list(root)
        if rest[0] == "forms" and rest[2:] == ["form.xml"]:
            return httpx.Response(200, content=form_xml(rest[1]))
        if rest[0] == "forms" and rest[2:] == ["manifest"]:
            return self.manifest(root, rest[1])
        if rest[0] == "forms" and rest[2] == "media":
            return httpx.Response(200, content=self.media_csv(rest[3]))
        if rest == ["submission"] and request.method == "HEAD":
            return httpx.Response(204, headers={
                "X-OpenRosa-Accept-Content-Length": str(self.max_content_length)})
        if rest == ["submission"] and request.method == "POST":
            return self.submission(request)
        return httpx.Response(404)

    def form_list(self, root: str) -> httpx.Response:
        items = "".join(
            f"<xform><formID>{f}</formID><name>{f}</name><version>1</version>"
            f"<hash>md5:{hashlib.md5(form_xml(f)).hexdigest()}</hash>"
            f"<downloadUrl>{root}/forms/{f}/form.xml</downloadUrl>"
            f"<manifestUrl>{root}/forms/{f}/manifest</manifestUrl></xform>"
            for f in FORM_MEDIA
        )
        return httpx.Response(200, content=(
            '<xforms xmlns="http://openrosa.org/xforms/xformsList">' + items + "</xforms>"
        ).encode())

    def manifest(self, root: str, form_id: str) -> httpx.Response:
        files = "".join(
            f"<mediaFile><filename>{name}</filename>"
            f"<hash>md5:{hashlib.md5(self.media_csv(name)).hexdigest()}</hash>"
            f"<downloadUrl>{root}/forms/{form_id}/media/{name}</downloadUrl></mediaFile>"
            for name in FORM_MEDIA[form_id]
        )
        return httpx.Response(200, content=(
            '<manifest xmlns="http://openrosa.org/xforms/xformsManifest">' + files + "</manifest>"
        ).encode())

    def submission(self, request: httpx.Request) -> httpx.Response:
        parts = parse_multipart(request.content, request.headers["Content-Type"])
        filename, content_type, xml = parts["xml_submission_file"]
        assert (filename, content_type) == ("submission.xml", "text/xml")
        form_id, answers = read_submission(xml)
        instance_id = answers["instanceID"]
        if instance_id in self.stored:
            if self.stored[instance_id] == xml:
                return httpx.Response(202, text="<OpenRosaResponse/>")
            return httpx.Response(409, text=(
                "<OpenRosaResponse xmlns='http://openrosa.org/http/response'><message>"
                "A different submission with this instanceID was already sent"
                "</message></OpenRosaResponse>"))
        self.stored[instance_id] = xml
        self.answers[instance_id] = answers
        self.register(form_id, answers)
        return httpx.Response(201, text="<OpenRosaResponse/>")

    def register(self, form_id: str, answers: dict[str, str]) -> None:
        """A new subject becomes a row of its pick list (as the registry would)."""
        media, flag, _, columns = _SUBJECT[form_id]
        if answers.get(flag) == "yes":
            row = {"name": f"R{self.next_id}", "label": f"row {self.next_id}"}
            self.next_id += 1
            row.update({col: answers.get(leaf, "") for col, leaf in columns.items()})
            self.lists[media].append(row)

    # --- admin API

    def admin(self, request: httpx.Request, path: str) -> httpx.Response:
        if path == "auth/token":
            form = parse_qs(request.content.decode())
            ok = form.get("username") == ["admin"] and form.get("password") == ["secret"]
            return httpx.Response(200 if ok else 401,
                                  json={"access_token": "adm", "token_type": "bearer"})
        if request.headers.get("Authorization") != "Bearer adm":
            return httpx.Response(401)
        if path == "posyandu" and request.method == "GET":
            code = request.url.params["kelurahan_code"]
            items = [p for p in self.posyandu if p["kelurahan_code"] == code]
            return httpx.Response(200, json={"items": items, "total": len(items)})
        if path == "posyandu" and request.method == "POST":
            body = json.loads(request.content)
            row = {"id": len(self.posyandu) + 1, **body}
            self.posyandu.append(row)
            return httpx.Response(201, json=row)
        if path == "users":
            body = json.loads(request.content)
            if body["username"] in self.users:
                return httpx.Response(409, json={"error": "user.exists"})
            self.users[body["username"]] = body["scopes"]
            return httpx.Response(201, json={"username": body["username"]})
        if path.startswith("users/") and path.endswith("/app-tokens"):
            username = path.split("/")[1]
            token = f"t{len(self.tokens)}"
            self.tokens[token] = username
            return httpx.Response(201, json={"token": token, "server_url": self.url(token)})
        return httpx.Response(404)
