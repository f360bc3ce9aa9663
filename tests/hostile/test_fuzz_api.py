"""Schemathesis against /api/v1/openapi.json, through the WSGI app: for every operation, data
that fits the document and data that does not, sent as a member and as a manager, with path
ids that mostly name real objects of the neighbourhood. Never a 5xx; every answer matches the
document (status code, content type, body schema, headers); data the document calls invalid
is refused with a 4xx."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

DOCUMENT = json.loads((Path(__file__).parents[2] / "app" / "api" / "openapi.json").read_text(encoding="utf-8"))
OPERATIONS = [
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method in {"get", "post", "put", "patch", "delete"}
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
# Per mode and operation: enough to reach every handler's branches in well under a minute, the same
# examples every run. HOSTILE_FUZZ_EXAMPLES=500 explores further, with fresh random examples.
EXAMPLES = int(os.environ.get("HOSTILE_FUZZ_EXAMPLES", "0")) or 10
DERANDOMIZE = "HOSTILE_FUZZ_EXAMPLES" not in os.environ

# Path parameters mostly name objects that exist (so handlers get past their 404), sometimes not.
REAL_IDS = {
    "venue_id": ("venue", "hidden_venue", "other_venue"),
    "space_id": ("room", "approval", "hidden_space", "other_room"),
    "booking_id": ("booking", "pending", "series_booking", "block", "samir_booking"),
    "closure_id": ("closure",),
    "import_id": ("import",),
    "series_id": ("series",),
}


def positive(case, location) -> bool:
    info = case.meta.components.get(location) if case.meta is not None else None
    return info is None or info.mode.is_positive


def test_every_documented_operation_is_fuzzed():
    assert len(OPERATIONS) >= 30
    names = {name for _path, item in DOCUMENT["paths"].items() for op in item.values() for name in _params(op)}
    assert names <= set(REAL_IDS), names - set(REAL_IDS)


def _params(operation) -> set[str]:
    if not isinstance(operation, dict):
        return set()
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_answers_as_documented(app, world, method, path):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    seen: list[int] = []

    @settings(
        max_examples=2 * EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=DERANDOMIZE,
    )
    @given(case=strategy, data=st.data())
    def fuzz(case, data):
        actor = data.draw(st.sampled_from(["anouk", "manager"]), label="actor")
        if positive(case, ParameterLocation.PATH):
            for name in list(case.path_parameters or {}):
                real = [world.ids[key] for key in REAL_IDS[name]]
                case.path_parameters[name] = data.draw(st.sampled_from([*real, case.path_parameters[name]]), label=name)
        # A case whose headers are made invalid on purpose is sent as generated (no token: a 401).
        headers = world.headers(actor) if positive(case, ParameterLocation.HEADER) else None
        response = case.call(headers=headers)
        seen.append(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    fuzz()
    assert seen, "no request was sent"
    assert all(status < 500 for status in seen), seen


@pytest.mark.parametrize(
    ("path", "name", "values"),
    [
        ("/venues", "kind", ["", "library", "castle"]),
        ("/bookings", "status", ["", "pending", "declined", "maybe"]),
    ],
)
def test_query_enums_list_what_the_api_accepts(client, world, path, name, values):
    """An empty `kind` or `status` means "any" and is answered 200; the document said it was invalid."""
    (parameter,) = [p for p in DOCUMENT["paths"][path]["get"]["parameters"] if p["name"] == name]
    enum = parameter["schema"]["enum"]
    accepted = {
        value: client.get(f"/api/v1{path}", query_string={name: value}, headers=world.headers("anouk")).status_code
        for value in values
    }
    assert accepted == {value: 200 if value in enum else 422 for value in values}


def test_text_no_database_can_store_is_a_documented_400(client, world):
    """A NUL character anywhere (here in the query) is refused before any handler: a 400 that every
    operation documents, instead of a 500 from PostgreSQL or from the UTF-8 encoder."""
    answers = {}
    for method, path in OPERATIONS:
        url = "/api/v1" + path.format(**{name: world.ids[keys[0]] for name, keys in REAL_IDS.items()})
        response = client.open(url, method=method, query_string={"x": "a\x00b"}, headers=world.headers("manager"))
        documented = "400" in DOCUMENT["paths"][path][method.lower()]["responses"]
        answers[f"{method} {path}"] = (response.status_code, response.content_type, documented)
    assert answers == dict.fromkeys(answers, (400, "application/problem+json", True))
