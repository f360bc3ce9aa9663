"""The coordinator's pages: list and search accounts, change a role, deactivate and reactivate.

Through the test client (HTML, CSRF included), and the account services' rules directly.
"""

from __future__ import annotations

import re

import pytest

from app.accounts import services
from app.accounts.models import User
from app.accounts.throttle import throttle_from_config
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from tests.conftest import csrf_token


def role_of(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).role


def is_active(app, user_id: int) -> bool:
    with app.app_context():
        return db.session.get(User, user_id).active


def post(client, path: str, **data):
    data["csrf_token"] = csrf_token(client, "/")
    return client.post(path, data=data)


def log_in_fresh(app, account, password=None):
    """A second browser: its own cookie jar."""
    other = app.test_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = other.post(
        "/login",
        data={
            "email": account.email,
            "password": password or account.password,
            "csrf_token": csrf_token(other, "/login"),
        },
    )
    return other, response


@pytest.fixture
def admin(make_user, login):
    account = make_user("admin", name="Coordinator Kim")
    login(account)
    return account


# -- who may see the pages ---------------------------------------------------------------------


def test_visitors_are_sent_to_log_in(client, make_user):
    someone = make_user("member")
    for path in ("/admin/users", f"/admin/users/{someone.id}/deactivate"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/login" in response.headers["Location"]
    response = client.post(f"/admin/users/{someone.id}/role", data={"role": "admin"})
    assert response.status_code in (302, 400)  # no session: no CSRF token, and no access
    assert role_of(client.application, someone.id) == "member"


@pytest.mark.parametrize("role", ["member", "manager"])
def test_members_and_managers_get_403(app, client, make_user, login, role):
    account = make_user(role)
    target = make_user("member")
    login(account)
    assert client.get("/admin/users").status_code == 403
    assert client.get(f"/admin/users/{target.id}/deactivate").status_code == 403
    assert post(client, f"/admin/users/{target.id}/role", role="admin").status_code == 403
    assert post(client, f"/admin/users/{target.id}/deactivate").status_code == 403
    assert role_of(app, target.id) == "member"
    assert role_of(app, account.id) == role
    assert is_active(app, target.id)
    # No "Admin" link in their menu either.
    assert 'href="/admin/users"' not in client.get("/").get_data(as_text=True)


# -- the list ----------------------------------------------------------------------------------


def test_admin_sees_every_account_with_role_status_and_date(app, client, make_user, admin):
    samir = make_user("member", email="samir@example.org", name="Samir Haddou")
    marja = make_user("manager", email="marja@example.org", name="Marja Jansen")
    response = client.get("/admin/users")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for account in (samir, marja, admin):
        assert account.name in page
        assert account.email in page
    assert "3 accounts." in page
    assert re.search(r'href="/admin/users"\s+aria-current="page"', page)  # the menu item
    row = re.search(rf'<tr[^>]*id="user-{marja.id}".*?</tr>', page, re.S).group(0)
    assert re.search(r'<option selected value="manager">|<option value="manager" selected', row)
    assert "Active" in row
    assert f'href="/admin/users/{marja.id}/deactivate"' in row
    own = re.search(rf'<tr[^>]*id="user-{admin.id}".*?</tr>', page, re.S).group(0)
    assert "(you)" in own
    assert "/deactivate" not in own


def test_admin_searches_by_name_or_email_in_any_case(client, make_user, admin):
    make_user("member", email="samir@example.org", name="Samir Haddou")
    make_user("member", email="anouk@example.org", name="Anouk de Vries")
    page = client.get("/admin/users?q=HADD").get_data(as_text=True)
    assert "Samir Haddou" in page
    assert "Anouk de Vries" not in page
    assert "1 account matches “HADD”." in page
    page = client.get("/admin/users?q=anouk@").get_data(as_text=True)
    assert "Anouk de Vries" in page
    assert "Samir Haddou" not in page
    page = client.get("/admin/users?q=50%25_").get_data(as_text=True)  # wildcards are literal
    assert "No account matches." in page
    assert "Samir Haddou" not in page


def test_the_list_is_paged(app, client, make_user, admin, monkeypatch):
    monkeypatch.setattr(services, "ADMIN_PAGE_SIZE", 2)
    for n in range(3):
        make_user("member", name=f"Lid {n}")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Page 1 of 2" in page
    assert 'href="/admin/users?page=2"' in page
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second
    assert client.get("/admin/users?page=x").status_code == 200


# -- roles -------------------------------------------------------------------------------------


def test_admin_changes_a_role(app, client, make_user, admin):
    samir = make_user("member", name="Samir Haddou")
    response = post(client, f"/admin/users/{samir.id}/role?q=samir", role="manager")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users?q=samir"
    assert role_of(app, samir.id) == "manager"
    assert "Samir Haddou is now a venue manager." in client.get("/admin/users?q=samir").get_data(as_text=True)
    post(client, f"/admin/users/{samir.id}/role", role="admin")
    assert role_of(app, samir.id) == "admin"


def test_a_role_change_needs_a_csrf_token(app, client, make_user, admin):
    samir = make_user("member")
    response = client.post(f"/admin/users/{samir.id}/role", data={"role": "admin"})
    assert response.status_code == 400
    assert role_of(app, samir.id) == "member"


def test_an_admin_cannot_change_their_own_role(app, client, admin):
    response = post(client, f"/admin/users/{admin.id}/role", role="member")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="error-summary"' in page
    assert "You cannot change your own role. Ask another administrator." in page
    assert f'id="role-{admin.id}-error"' in page
    assert 'aria-invalid="true"' in page
    assert role_of(app, admin.id) == "admin"


def test_an_unknown_role_or_account_is_refused(app, client, make_user, admin):
    samir = make_user("member")
    response = post(client, f"/admin/users/{samir.id}/role", role="owner")
    assert response.status_code == 422
    assert "Choose member, venue manager or administrator." in response.get_data(as_text=True)
    assert role_of(app, samir.id) == "member"
    assert post(client, f"/admin/users/{samir.id}/role", role="").status_code == 422
    assert post(client, "/admin/users/999999/role", role="admin").status_code == 404
    assert client.get("/admin/users/999999/deactivate").status_code == 404


# -- deactivating ------------------------------------------------------------------------------


def test_deactivation_asks_first_then_locks_the_account_out(app, client, make_user, make_token, admin):
    samir = make_user("member", name="Samir Haddou")
    token = make_token(samir)
    samirs_browser, response = log_in_fresh(app, samir)
    assert response.status_code == 302
    assert samirs_browser.get("/account").status_code == 200

    confirm = client.get(f"/admin/users/{samir.id}/deactivate")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "Deactivate Samir Haddou?" in page
    assert "Yes, deactivate" in page
    assert is_active(app, samir.id)  # looking is not doing

    response = post(client, f"/admin/users/{samir.id}/deactivate")
    assert response.status_code == 302
    assert not is_active(app, samir.id)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Samir Haddou is deactivated and can no longer log in." in page
    assert "Deactivated" in page
    assert f'action="/admin/users/{samir.id}/reactivate"' in page

    # The open session ends, a new log-in fails, and the API token is refused.
    assert samirs_browser.get("/account").status_code == 302
    _browser, response = log_in_fresh(app, samir)
    assert response.status_code == 422
    assert "E-mail address or password is wrong." in response.get_data(as_text=True)
    api = client.application.test_client()
    assert api.get("/api/v1/bookings", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    response = api.post("/api/v1/tokens", json={"email": samir.email, "password": samir.password})
    assert response.status_code == 401


def test_reactivation_gives_access_back(app, client, make_user, make_token, admin):
    samir = make_user("member", name="Samir Haddou")
    token = make_token(samir)
    post(client, f"/admin/users/{samir.id}/deactivate")
    response = post(client, f"/admin/users/{samir.id}/reactivate")
    assert response.status_code == 302
    assert is_active(app, samir.id)
    assert "Samir Haddou can log in again." in client.get("/admin/users").get_data(as_text=True)
    _browser, response = log_in_fresh(app, samir)
    assert response.status_code == 302
    api = client.application.test_client()
    assert api.get("/api/v1/bookings", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_deactivation_needs_a_csrf_token(app, client, make_user, admin):
    samir = make_user("member")
    assert client.post(f"/admin/users/{samir.id}/deactivate").status_code == 400
    assert is_active(app, samir.id)


def test_an_admin_cannot_deactivate_themselves(app, client, admin):
    response = post(client, f"/admin/users/{admin.id}/deactivate")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "You cannot deactivate your own account. Ask another administrator." in page
    assert 'id="error-summary"' in page
    assert is_active(app, admin.id)
    assert client.get("/account").status_code == 200


# -- the service rules, directly ---------------------------------------------------------------


@pytest.fixture
def people(app, make_user):
    accounts = {role: make_user(role) for role in ("member", "manager", "admin")}
    accounts["second admin"] = make_user("admin")
    accounts["kees"] = make_user("member", email="kees@cafe.example", name="Kees Bakker")
    # A request in English, so the services' messages can be compared as text.
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield {role: db.session.get(User, a.id) for role, a in accounts.items()}


def test_only_admins_may_use_the_account_services(app, people):
    target = people["member"]
    for role in ("member", "manager"):
        actor = people[role]
        with pytest.raises(Forbidden):
            services.set_role(actor, target.id, "admin")
        with pytest.raises(Forbidden):
            services.set_active(actor, target.id, False)
        with pytest.raises(Forbidden):
            services.search_users(actor)
        with pytest.raises(Forbidden):
            services.account_for_admin(actor, target.id)
    assert target.role == "member"
    assert target.active


def test_set_role_rules(app, people):
    admin, member = people["admin"], people["member"]
    assert services.set_role(admin, member.id, "manager").role == "manager"
    assert services.set_role(admin, member.id, "member").role == "member"
    with pytest.raises(DomainError) as refused:
        services.set_role(admin, member.id, "superuser")
    assert list(refused.value.errors) == ["role"]
    with pytest.raises(DomainError) as refused:
        services.set_role(admin, admin.id, "manager")
    assert refused.value.status == 422
    assert refused.value.errors == {"role": ["You cannot change your own role. Ask another administrator."]}
    assert services.set_role(admin, admin.id, "admin").role == "admin"  # no change is no demotion
    with pytest.raises(NotFound):
        services.set_role(admin, 999_999, "member")


def test_set_active_rules(app, people):
    admin, member = people["admin"], people["member"]
    assert services.set_active(admin, member.id, False).active is False
    assert services.set_active(admin, member.id, True).active is True
    with pytest.raises(DomainError) as refused:
        services.set_active(admin, admin.id, False)
    assert refused.value.errors == {"": ["You cannot deactivate your own account. Ask another administrator."]}
    assert admin.active
    assert services.set_active(admin, admin.id, True).active  # already active: allowed
    with pytest.raises(NotFound):
        services.set_active(admin, 999_999, False)


def test_another_admin_may_demote_or_deactivate_an_admin(app, people):
    second, admin = people["second admin"], people["admin"]
    services.set_role(second, admin.id, "manager")
    services.set_active(second, admin.id, False)
    assert (admin.role, admin.active) == ("manager", False)


def test_search_users_matches_name_or_email_and_counts(app, people):
    admin = people["admin"]
    found, total = services.search_users(admin, "bakker")
    assert [u.name for u in found] == ["Kees Bakker"]
    assert total == 1
    found, total = services.search_users(admin, "CAFE.EXAMPLE")
    assert [u.email for u in found] == ["kees@cafe.example"]
    found, total = services.search_users(admin, "")
    assert total == 5
    assert found[0].name == "Kees Bakker"  # newest first
    found, total = services.search_users(admin, "", page=2, per_page=3)
    assert (len(found), total) == (2, 5)


def test_inactive_accounts_cannot_authenticate_or_use_tokens(app, people):
    admin, member = people["admin"], people["member"]
    _token, plaintext = services.create_api_token(member, "script")
    throttle = throttle_from_config(app.config)
    assert services.authenticate(member.email, "correct horse battery", "198.51.100.7", throttle) == member
    assert services.user_for_token(plaintext, record_use=False) == member
    services.set_active(admin, member.id, False)
    with pytest.raises(DomainError):
        services.authenticate(member.email, "correct horse battery", "198.51.100.7", throttle)
    assert services.user_for_token(plaintext, record_use=False) is None
    services.set_active(admin, member.id, True)
    assert services.user_for_token(plaintext, record_use=False) == member


def test_demoting_a_manager_ends_their_venue_access(app, client, make_user, make_token):
    from app.accounts.models import User
    from app.accounts.services import set_role
    from tests.factories import make_space, make_venue

    admin, manager = make_user("admin"), make_user("manager")
    venue = make_venue(app, manager.id, published=False)
    make_space(app, manager.id, venue)
    headers = {"Authorization": f"Bearer {make_token(manager)}"}
    assert client.get(f"/api/v1/venues/{venue}", headers=headers).status_code == 200
    with app.app_context():
        set_role(db.session.get(User, admin.id), manager.id, "member")
        db.session.commit()
    assert client.get(f"/api/v1/venues/{venue}", headers=headers).status_code == 404
