"""Feed polls answered before Flask (`app.feeds.polls.FeedPolls`) give exactly the answer the
app gives, and only when it is a 304; everything else goes on to the app."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from app.feeds import polls
from tests.integration.test_feeds import book, feed_path, frozen, world  # noqa: F401  (fixtures)


@pytest.fixture
def feeds_of(client, world):  # noqa: F811
    """A path of each kind of feed, with a booking in it."""
    book(client, world["tokens"]["anouk"], world["room"], "2026-12-01T09:00", "2026-12-01T12:00", title="Klant")
    manager = world["tokens"]["manager"]
    space = client.get(f"/api/v1/spaces/{world['room']}", headers=manager).json
    venue = client.get(f"/api/v1/venues/{world['venue']}", headers=manager).json
    return {
        "member": feed_path(client, world["tokens"]["anouk"]),
        "venue": venue["feed_url"].removeprefix("http://localhost"),
        "space": space["feed_url"].removeprefix("http://localhost"),
        "busy": space["busy_feed_url"].removeprefix("http://localhost"),
    }


def answers(app, path: str, headers: dict) -> tuple[tuple, tuple]:
    """(status, headers) through the middleware and through the app alone."""
    outer, inner = app.wsgi_app, app.wsgi_app.wsgi_app
    assert isinstance(outer, polls.FeedPolls)

    def answer(wsgi) -> tuple:
        response = Client(wsgi).get(path, headers=headers)
        return response.status_code, sorted((k, v) for k, v in response.headers.items() if k != "Date")

    return answer(outer), answer(inner)


@pytest.mark.parametrize("kind", ["member", "venue", "space", "busy"])
@pytest.mark.parametrize(
    ("lang", "english"), [("", False), ("?lang=en", True), ("?lang=%65n", True), ("?lang=de&lang=en", False)]
)
def test_the_answer_before_the_app_is_the_apps_answer(app, client, feeds_of, kind, lang, english):
    path = feeds_of[kind] + lang
    etag = client.get(path).headers["ETag"]
    # The other language's ETag (the member feed has its member's language, whatever is asked).
    other = client.get(feeds_of[kind] + ("" if english else "?lang=en")).headers["ETag"]
    assert (other == etag) == (kind == "member")
    for if_none_match in (etag, f'"x", {etag}', "*", other, f"W/{etag}", '"nonsense"'):
        outer, inner = answers(app, path, {"If-None-Match": if_none_match})
        assert outer == inner, if_none_match
        current = if_none_match in (etag, f'"x", {etag}', "*", f"W/{etag}") or if_none_match == other == etag
        assert outer[0] == (304 if current else 200)
        assert ("Content-Security-Policy", polls.add_headers.__globals__["CONTENT_SECURITY_POLICY"]) in outer[1]


def test_only_a_current_etag_is_answered_before_the_app(app, client, feeds_of, monkeypatch):
    """The app itself is not reached for a 304; for anything else it is, and answers."""
    inner_calls = []
    inner = app.wsgi_app.wsgi_app

    def counting(environ, start_response):
        inner_calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    monkeypatch.setattr(app.wsgi_app, "wsgi_app", counting)
    path = feeds_of["member"]
    etag = client.get(path).headers["ETag"]
    assert inner_calls == [path]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert inner_calls == [path]  # answered before the app
    assert client.get(path, headers={"If-None-Match": '"old"'}).status_code == 200
    wrong = path.rsplit("/", 1)[0] + "/not-the-secret.ics"
    assert client.get(wrong, headers={"If-None-Match": etag}).status_code == 404
    assert client.head(path, headers={"If-None-Match": etag}).status_code == 304  # HEAD: the app answers
    too_big = f"/feeds/member/{2**31}/x.ics"
    assert client.get(too_big, headers={"If-None-Match": etag}).status_code == 404
    assert inner_calls == [path, path, wrong, path, too_big]


def test_a_change_is_never_answered_with_304(app, client, world, feeds_of):  # noqa: F811
    path = feeds_of["venue"]
    etag = client.get(path).headers["ETag"]
    book(client, world["tokens"]["samir"], world["room"], "2026-12-02T09:00", "2026-12-02T10:00")
    outer, inner = answers(app, path, {"If-None-Match": etag})
    assert outer == inner and outer[0] == 200


def test_a_failure_before_the_app_leaves_the_answer_to_the_app(app, client, feeds_of, monkeypatch):
    path = feeds_of["member"]
    etag = client.get(path).headers["ETag"]
    check, failures = polls.check, []

    def failing_once(*args):
        if not failures:
            failures.append(args)
            raise RuntimeError("database gone for a moment")
        return check(*args)

    monkeypatch.setattr(polls, "check", failing_once)
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert len(failures) == 1


def test_text_the_app_refuses_is_left_to_the_app(app, client, feeds_of):
    path = feeds_of["member"]
    etag = client.get(path).headers["ETag"]
    for query, headers in (("?lang=%00", {}), ("", {"X-Note": "a\x00b"})):
        outer, inner = answers(app, path + query, {"If-None-Match": etag, **headers})
        assert outer[0] == inner[0] == 400  # (the error page's own session cookie differs)


def test_on_sqlite_a_poll_does_not_wait_for_a_writer(tmp_path, monkeypatch):
    """Another process holds SQLite's write lock (a booking being written): a poll answered
    before the app begins deferred, so it reads at once instead of queueing for the lock."""
    import sqlite3

    from app import create_app
    from app.accounts.services import register_user
    from app.extensions import db
    from config import TestingConfig
    from tests.support.databases import empty_database, migrate

    url = empty_database("sqlite", "polls", tmp_path)
    polling = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, SQLITE_BUSY_TIMEOUT_MS=2000)
    migrate(polling)
    with polling.app_context():
        user = register_user("poll@example.org", "a long enough password", "Poll", language="en")
        db.session.commit()
        path = f"/feeds/member/{user.id}/{user.feed_token}.ics"
    client = polling.test_client()
    etag = client.get(path).headers["ETag"]
    inner_calls = []
    inner = polling.wsgi_app.wsgi_app
    monkeypatch.setattr(polling.wsgi_app, "wsgi_app", lambda env, start: inner_calls.append(1) or inner(env, start))
    writer = sqlite3.connect(url.removeprefix("sqlite:///"))
    writer.execute("BEGIN IMMEDIATE")
    try:
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    finally:
        writer.rollback()
        writer.close()
        with polling.app_context():
            db.engine.dispose()
    assert inner_calls == []  # answered before the app, not after a failed wait for the lock
