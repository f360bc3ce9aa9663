"""Accounts over HTML: register, log in and out, profile, password, tokens, throttling."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import ThrottleHit, User
from app.extensions import db
from tests.conftest import PASSWORD, csrf_token


def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def register(client, **fields):
    data = {"name": "Anouk", "email": "anouk@example.org", "password": PASSWORD, "language": "nl"}
    data.update(fields)
    data["csrf_token"] = csrf_token(client, "/register")
    return client.post("/register", data=data)


def test_register_logs_in_and_stores_a_hashed_password(app, client):
    response = register(client, email="Anouk@Example.ORG")
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(sa.select(User))
        assert user.email == "anouk@example.org"
        assert user.role == "member"
        assert user.language == "nl"
        assert user.password_hash.startswith("scrypt:")
        assert PASSWORD not in user.password_hash
    page = client.get("/account").get_data(as_text=True)
    assert "anouk@example.org" in page


def test_email_is_unique_whatever_its_case(app, client, make_user):
    make_user(email="samir@example.org")
    response = register(client, email="SAMIR@example.org")
    assert response.status_code == 422
    assert "already" in response.get_data(as_text=True) or "al een account" in response.get_data(as_text=True)
    assert count_users(app) == 1


def test_addresses_are_stored_as_mail_can_carry_them(app, client):
    """Plain SMTP carries ASCII only: a non-ASCII mailbox is refused, an international domain is
    stored in its ASCII (IDNA) form, so composing a booking mail never fails on the address."""
    response = register(client, email="jürgen@example.org")
    assert response.status_code == 422
    assert count_users(app) == 0
    response = register(client, email="Anne@Bücher.example")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(User.email)) == "anne@xn--bcher-kva.example"
    other = app.test_client()
    response = other.post(
        "/login",
        data={"email": "anne@bücher.example", "password": PASSWORD, "csrf_token": csrf_token(other, "/login")},
    )
    assert response.status_code == 302, "the address as typed, with the Unicode domain, logs in"
    client = app.test_client()
    assert register(client, email="ANNE@xn--bcher-kva.example").status_code == 422  # the same account


def test_register_bad_input_re_renders_with_field_errors_and_changes_nothing(app, client):
    cases = [
        {"name": ""},
        {"email": ""},
        {"email": "not-an-address"},
        {"password": "short"},
        {"name": "x" * 101},
        {"email": "a" * 250 + "@example.org"},
        {"password": "p" * 201},
        {"language": "de"},
    ]
    for fields in cases:
        response = register(client, **fields)
        assert response.status_code == 422, fields
        page = response.get_data(as_text=True)
        assert 'aria-invalid="true"' in page or "utrecht-form-fieldset--invalid" in page, fields
        assert 'id="error-summary"' in page
    assert count_users(app) == 0


def test_register_without_csrf_token_is_refused(app, client):
    response = client.post(
        "/register", data={"name": "A", "email": "a@example.org", "password": PASSWORD, "language": "nl"}
    )
    assert response.status_code == 400
    assert count_users(app) == 0


def test_login_and_logout(client, member, login):
    response = login(member)
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    token = csrf_token(client, "/account")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    response = client.get("/account")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_logout_needs_csrf(client, member, login):
    login(member)
    assert client.post("/logout").status_code == 400
    assert client.get("/account").status_code == 200


def test_login_email_is_case_insensitive(client, make_user, login):
    account = make_user(email="kees@example.org")
    account.email = "KEES@Example.org"
    assert login(account).status_code == 302


def test_wrong_password_gives_a_clear_error(client, member, login):
    response = login(member, password="wrong password!")
    assert response.status_code == 422
    assert "E-mail address or password is wrong" in response.get_data(as_text=True) or (
        "klopt niet" in response.get_data(as_text=True)
    )


def test_login_redirects_only_to_own_pages(client, member):
    token = csrf_token(client, "/login")
    data = {"email": member.email, "password": member.password, "csrf_token": token}
    response = client.post("/login?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    token = csrf_token(client, "/login")
    data["csrf_token"] = token
    response = client.post("/login?next=/account/password", data=data)
    assert response.headers["Location"] == "/account/password"


def test_session_cookie_is_httponly_and_lax(client, member, login):
    response = login(member)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_failed_logins_are_throttled_per_account(app, client, member, login):
    for _ in range(10):
        assert login(member, password="wrong password!").status_code == 422
    response = login(member)  # even the right password, once blocked
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "900"
    assert "quarter of an hour" in response.get_data(as_text=True) or "kwartier" in response.get_data(as_text=True)


def test_failed_logins_are_throttled_per_address(app, make_user, login, client):
    accounts = [make_user() for _ in range(11)]
    for account in accounts[:10]:
        assert login(account, password="wrong password!").status_code == 422
    assert login(accounts[10]).status_code == 429


def test_throttle_window_passes(app, client, member, login):
    from datetime import timedelta

    for _ in range(10):
        login(member, password="wrong password!")
    assert login(member).status_code == 429
    with app.app_context():  # move every hit to before the window
        for hit in db.session.scalars(sa.select(ThrottleHit)):
            hit.at -= timedelta(minutes=16)
        db.session.commit()
    assert login(member).status_code == 302


def test_successful_login_resets_the_account_count(app, client, member, login):
    for _ in range(9):
        login(member, password="wrong password!")
    assert login(member).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    with app.app_context():
        keys = set(db.session.scalars(sa.select(ThrottleHit.key)))
    assert not any(k.startswith("login:account:") for k in keys)


def test_profile_update_and_language_is_remembered(app, client, member, login):
    login(member)
    token = csrf_token(client, "/account")
    response = client.post("/account", data={"name": "Anouk V.", "language": "nl", "csrf_token": token})
    assert response.status_code == 302
    page = client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="nl"' in page  # the account's language wins over the browser's
    assert "Anouk V." in page


def test_profile_bad_input(app, client, member, login):
    login(member)
    token = csrf_token(client, "/account")
    response = client.post("/account", data={"name": "", "language": "en", "csrf_token": token})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(User, member.id).name == member.name


def test_change_password(app, client, member, login):
    login(member)
    token = csrf_token(client, "/account/password")
    response = client.post(
        "/account/password",
        data={"current_password": "not my password", "new_password": "another long one", "csrf_token": token},
    )
    assert response.status_code == 422
    response = client.post(
        "/account/password",
        data={"current_password": member.password, "new_password": "another long one", "csrf_token": token},
    )
    assert response.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    member.password = "another long one"
    assert login(member).status_code == 302


def test_tokens_made_listed_and_revoked_in_the_ui(app, client, member, login):
    login(member)
    token = csrf_token(client, "/account/tokens")
    page = client.post("/account/tokens", data={"label": "my script", "csrf_token": token}).get_data(as_text=True)
    plaintext = page.split("data-token>")[1].split("<")[0]
    assert plaintext.startswith("dbj_")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "my script" in page
    assert plaintext not in page  # shown once only
    from app.accounts.models import ApiToken

    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    response = client.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/account/tokens")}
    )
    assert response.status_code == 302
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401


def test_cannot_revoke_someone_elses_token(app, client, make_user, make_token, login):
    owner, other = make_user(), make_user()
    make_token(owner)
    from app.accounts.models import ApiToken

    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    login(other)
    response = client.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/account/tokens")}
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None


def test_pages_that_need_login_redirect_to_login(client):
    for path in ["/account", "/account/password", "/account/tokens"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
