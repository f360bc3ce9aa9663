"""The hand-written OpenAPI document is valid and lists every route under /api/v1."""

from __future__ import annotations

import re

from openapi_spec_validator import validate


def test_openapi_document_is_valid(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    validate(response.json)


def test_every_api_route_is_documented(app, client):
    document = client.get("/api/v1/openapi.json").json
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        routes |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes, "no API routes found"
    missing = routes - documented
    assert not missing, f"routes missing from openapi.json: {sorted(missing)}"
    stale = documented - routes
    assert not stale, f"documented but not served: {sorted(stale)}"
