"""The OpenAPI document says what the server really does: every path parameter is
declared, and refusals are documented with the bodies they really have."""

from __future__ import annotations

import re


def test_every_path_parameter_is_declared(app):
    for path, operations in app.openapi()["paths"].items():
        wanted = set(re.findall(r"{(\w+)}", path))
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == wanted, (method, path)


def test_refusals_are_documented_with_their_real_bodies(app):
    spec = app.openapi()
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # not what we send
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if path.startswith("/api/v1/"):
                error = responses["403"]["content"]["application/json"]["schema"]["$ref"]
                invalid = responses["422"]["content"]["application/json"]["schema"]["$ref"]
                assert error.endswith("/ErrorBody") and invalid.endswith("/ValidationErrorBody")
            elif path not in ("/healthz", "/readyz"):
                assert "text/xml" in responses["403"]["content"], (method, path)


def test_a_real_refusal_matches_the_documented_body(client):
    r = client.get("/api/v1/users")
    assert r.status_code == 401 and set(r.json()) == {"error", "detail"}
