"""Setting up the phones through the server's admin JSON API, as a city data team would:
posyandu, one kader account per phone (scoped to its posyandu) and a device token whose
`server_url` goes into Collect. Reruns reuse posyandu and accounts that already exist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx

from simulator.fieldwork import PhoneSpec
from simulator.population import City


class AdminApiError(Exception):
    """The admin API refused a setup step."""


@dataclass(frozen=True)
class PhoneAccount:
    phone_id: str
    username: str
    posyandu_id: int
    server_url: str  # {server}/key/{token}


class AdminClient:
    """The few admin endpoints the simulator needs, with one bearer token."""

    def __init__(self, server: str, client: httpx.Client, username: str, password: str):
        self.server = server.rstrip("/")
        self.client = client
        response = client.post(f"{self.server}/api/v1/auth/token",
                               data={"username": username, "password": password})
        self._check(response, "log in as admin")
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    @staticmethod
    def _check(response: httpx.Response, what: str, ok: tuple[int, ...] = (200, 201)) -> None:
        if response.status_code not in ok:
            raise AdminApiError(f"could not {what}: HTTP {response.status_code} {response.text[:300]}")

    def get(self, path: str, params: dict[str, str] | None = None) -> dict:
        """A JSON list or record of the API (`path` from /api/v1/...)."""
        response = self.client.get(f"{self.server}{path}", headers=self.headers, params=params)
        self._check(response, f"read {path}", ok=(200,))
        return response.json()

    def posyandu_ids(self, kelurahan_code: str) -> dict[str, int]:
        """Existing posyandu of a kelurahan, by name."""
        ids: dict[str, int] = {}
        offset = 0
        while True:
            response = self.client.get(
                f"{self.server}/api/v1/posyandu", headers=self.headers,
                params={"kelurahan_code": kelurahan_code, "limit": 100, "offset": offset},
            )
            self._check(response, f"list posyandu of {kelurahan_code}")
            body = response.json()
            items = body.get("items", [])
            ids.update({item["name"]: int(item["id"]) for item in items})
            offset += len(items)
            if not items or offset >= body.get("total", 0):
                return ids

    def create_posyandu(self, kelurahan_code: str, name: str) -> int:
        response = self.client.post(f"{self.server}/api/v1/posyandu", headers=self.headers,
                                    json={"kelurahan_code": kelurahan_code, "name": name})
        self._check(response, f"create {name} in {kelurahan_code}", ok=(201,))
        return int(response.json()["id"])

    def ensure_kader(self, username: str, posyandu_id: int) -> None:
        """A kader account scoped to one posyandu (an existing one is reused)."""
        response = self.client.post(
            f"{self.server}/api/v1/users", headers=self.headers,
            json={"username": username, "password": secrets.token_urlsafe(18), "role": "kader",
                  "scopes": [f"posyandu:{posyandu_id}"], "full_name": f"Kader {username}"},
        )
        self._check(response, f"create user {username}", ok=(201, 409))

    def app_token(self, username: str, label: str) -> str:
        """A new device token for the user; returns the Collect server URL."""
        response = self.client.post(f"{self.server}/api/v1/users/{username}/app-tokens",
                                    headers=self.headers, json={"label": label})
        self._check(response, f"issue a device token for {username}", ok=(201,))
        return response.json()["server_url"]


def set_up_phones(admin: AdminClient, city: City, phones: list[PhoneSpec]) -> list[PhoneAccount]:
    """Create (or find) every phone's posyandu, kader account and device token."""
    server_ids: dict[str, int] = {}
    for code in sorted({p.kelurahan_code for p in phones}):
        existing = admin.posyandu_ids(code)
        for key in sorted({p.posyandu_key for p in phones if p.kelurahan_code == code}):
            name = city.posyandu[key].name
            if name not in existing:
                existing[name] = admin.create_posyandu(code, name)
            server_ids[key] = existing[name]
    accounts = []
    for phone in phones:
        posyandu_id = server_ids[phone.posyandu_key]
        username = f"kader-{posyandu_id}-{phone.kader_number}"
        admin.ensure_kader(username, posyandu_id)
        server_url = admin.app_token(username, f"sim {phone.id}")
        accounts.append(PhoneAccount(phone.id, username, posyandu_id, server_url))
    return accounts
