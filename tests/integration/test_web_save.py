"""`web.save`: how every HTML form writes: one transaction, committed or rolled back whole."""

from __future__ import annotations

import sqlalchemy as sa
from flask_wtf import FlaskForm
from wtforms import StringField

from app.accounts.models import User
from app.errors import DomainError
from app.extensions import db
from app.web import save, status_of


class NameForm(FlaskForm):
    name = StringField()


def stored_name(app, user_id: int) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(User.name).where(User.id == user_id))


def test_a_refused_write_is_rolled_back_whole_with_its_messages_on_the_form(app, member):
    with app.test_request_context(method="POST", data={"name": "Fenna"}):
        form = NameForm(meta={"csrf": False})

        def write():
            db.session.get(User, member.id).name = "Half written"
            db.session.flush()  # written, not yet committed, when the service refuses
            raise DomainError.on("name", "Not this name.")

        assert save(form, write) is None
        assert form.name.errors == ["Not this name."]
        assert status_of(form) == 422
        # In the request's own session too: what the service flushed is gone.
        assert db.session.scalar(sa.select(User.name).where(User.id == member.id)) == member.name
    assert stored_name(app, member.id) == member.name


def test_an_error_without_a_field_becomes_a_form_error(app, member):
    with app.test_request_context(method="POST"):
        form = NameForm(meta={"csrf": False})

        def write():
            raise DomainError.on("", "The venue is closed that day.")

        assert save(form, write) is None
        assert form.form_errors == ["The venue is closed that day."]
        assert status_of(form) == 422


def test_an_accepted_write_is_committed_and_returns_what_the_service_did(app, member):
    with app.test_request_context(method="POST", data={"name": "Fenna"}):
        form = NameForm(meta={"csrf": False})

        def write():
            db.session.get(User, member.id).name = form.name.data
            return None  # a service that returns nothing still counts as saved

        saved = save(form, write)
        assert saved and saved.value is None
        assert status_of(form) == 200
        db.session.rollback()  # nothing left to undo: it was committed
    assert stored_name(app, member.id) == "Fenna"


def test_a_refusal_with_empty_field_lists_still_shows(app, member):
    with app.test_request_context(method="POST"):
        form = NameForm(meta={"csrf": False})

        def write():
            raise DomainError({"name": []}, detail="Not now.")

        assert save(form, write) is None
        assert form.form_errors == ["Not now."]
        assert status_of(form) == 422
