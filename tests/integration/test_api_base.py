"""The API base: bearer tokens, /me, problem documents for every error, bad input."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.accounts.models import ApiToken, User
from app.extensions import db


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["type"] == "about:blank"
    return body


def test_me(client, make_user, make_token):
    account = make_user(name="Samir", email="samir@example.org")
    response = client.get("/api/v1/me", headers=bearer(make_token(account)))
    assert response.status_code == 200
    body = response.json
    feed_url = body.pop("feed_url")
    assert body == {
        "id": account.id,
        "email": "samir@example.org",
        "name": "Samir",
        "role": "member",
        "language": "en",
    }
    assert feed_url.startswith(f"http://localhost/feeds/member/{account.id}/") and feed_url.endswith(".ics")


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer ", "Basic abc", "Bearer dbj_unknown", "Bearer " + "x" * 5000]
)
def test_me_without_a_valid_token_is_401(client, header):
    headers = {"Authorization": header} if header is not None else {}
    body = assert_problem(client.get("/api/v1/me", headers=headers), 401)
    assert "token" in body["detail"].lower() or "sleutel" in body["detail"].lower()


def test_session_cookie_does_not_authenticate_the_api(client, member, login):
    login(member)
    assert_problem(client.get("/api/v1/me"), 401)


def test_revoked_token_is_401(app, client, member, make_token):
    token = make_token(member)
    from app.accounts.services import revoke_api_token

    with app.app_context():
        user = db.session.get(User, member.id)
        revoke_api_token(user, db.session.scalar(sa.select(ApiToken.id)))
        db.session.commit()
    assert_problem(client.get("/api/v1/me", headers=bearer(token)), 401)


def test_unknown_api_path_is_a_problem_document(client):
    assert_problem(client.get("/api/v1/no/such/thing"), 404)
    assert_problem(client.get("/api/v2"), 404)


def test_wrong_method_is_405_with_allow(client):
    response = client.delete("/api/v1/me")
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_403_for_what_a_member_may_not_do(client, member, make_token):
    assert_problem(client.get("/api/v1/users", headers=bearer(make_token(member))), 403)


def test_admin_lists_users(client, make_user, make_token):
    admin = make_user("admin")
    make_user("member")
    response = client.get("/api/v1/users", headers=bearer(make_token(admin)))
    assert response.status_code == 200
    assert [u["role"] for u in response.json["users"]] == ["admin", "member"]


def test_500_is_a_problem_document(client, member, make_token, monkeypatch):
    import app.api.views as views

    def boom(user):
        raise RuntimeError("bug")

    token = make_token(member)
    monkeypatch.setattr(views, "user_json", boom)
    body = assert_problem(client.get("/api/v1/me", headers=bearer(token)), 500)
    assert "bug" not in body["detail"]


def test_413_for_a_body_too_large(app, client):
    big = json.dumps({"email": "a@example.org", "password": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)})
    assert_problem(client.post("/api/v1/tokens", data=big, content_type="application/json"), 413)


def test_token_endpoint_issues_a_working_token(client, member):
    response = client.post(
        "/api/v1/tokens", json={"email": member.email.upper(), "password": member.password, "label": "laptop"}
    )
    assert response.status_code == 201
    assert response.json["label"] == "laptop"
    assert client.get("/api/v1/me", headers=bearer(response.json["token"])).json["id"] == member.id


def test_token_endpoint_wrong_password_is_401(client, member):
    body = assert_problem(client.post("/api/v1/tokens", json={"email": member.email, "password": "nope nope"}), 401)
    assert "email" in body["errors"]


def test_token_endpoint_is_throttled(client, member):
    for _ in range(10):
        assert client.post("/api/v1/tokens", json={"email": member.email, "password": "wrong"}).status_code == 401
    response = client.post("/api/v1/tokens", json={"email": member.email, "password": member.password})
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0


def test_bad_bearer_tokens_are_throttled_per_address(client, member, make_token):
    good = make_token(member)
    for i in range(10):
        assert client.get("/api/v1/me", headers=bearer(f"dbj_guess{i}")).status_code == 401
    response = client.get("/api/v1/me", headers=bearer("dbj_guess11"))
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) == 900
    # Guessing is stopped; a real token still works.
    assert client.get("/api/v1/me", headers=bearer(good)).status_code == 200


BAD_BODIES = [
    ("malformed JSON", b'{"email": ', "application/json", 400),
    ("not an object", b'["a", "b"]', "application/json", 422),
    ("a string", b'"hello"', "application/json", 422),
    ("wrong content type", b"email=a@example.org", "application/x-www-form-urlencoded", 415),
    ("text/plain", b'{"email": "a@example.org"}', "text/plain", 415),
    ("number for a string", b'{"email": 12, "password": "x"}', "application/json", 422),
    ("list for a string", b'{"email": ["a"], "password": "x"}', "application/json", 422),
    ("object for a string", b'{"email": {"a": 1}, "password": "x"}', "application/json", 422),
    ("boolean for a string", b'{"email": true, "password": "x"}', "application/json", 422),
    ("unknown field", b'{"email": "a@example.org", "password": "x", "admin": true}', "application/json", 422),
    ("missing fields", b"{}", "application/json", 422),
    ("empty strings", b'{"email": "", "password": ""}', "application/json", 422),
    ("overlong", json.dumps({"email": "a" * 300, "password": "x"}).encode(), "application/json", 422),
    ("invalid utf-8", b'{"email": "\xff\xfe", "password": "x"}', "application/json", 400),
]


@pytest.mark.parametrize(("label", "body", "content_type", "status"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_input_is_a_clear_4xx_and_changes_nothing(app, client, member, label, body, content_type, status):
    response = client.post("/api/v1/tokens", data=body, content_type=content_type)
    problem = assert_problem(response, status)
    if status == 422 and label not in ("not an object", "a string"):
        assert problem["errors"], label
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_validation_errors_name_the_field(client):
    body = assert_problem(client.post("/api/v1/tokens", json={"email": 5, "password": "x", "x": 1}), 422)
    assert set(body["errors"]) == {"email", "x"}
    assert all(isinstance(m, list) and m for m in body["errors"].values())


def test_problem_detail_follows_accept_language(client):
    body = assert_problem(client.get("/api/v1/me", headers={"Accept-Language": "nl"}), 401)
    assert "sleutel" in body["detail"]
    body = assert_problem(client.get("/api/v1/me", headers={"Accept-Language": "en"}), 401)
    assert "token" in body["detail"]
