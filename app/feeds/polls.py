"""Feed polls: "has this feed changed?", answered from the owner's row, and before Flask when
the answer is "no".

Calendar apps poll every subscribed feed every hour or so, and nearly every poll finds nothing
new: most of a busy instance's requests are these. `FeedPolls` wraps the WSGI app and answers
a poll whose If-None-Match holds the current ETag with a 304 itself: one statement, without
Flask's request context, session, hooks and routing (about a third of the cost). Everything
else — another ETag, a wrong secret, If-Modified-Since alone, an error — goes on to the app,
which gives the same answer through `views._serve`; `tests/integration/test_feed_polls.py`
compares the two.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote

from flask import Flask
from werkzeug.http import parse_etags
from werkzeug.wrappers import Response

from app.bookings.transaction import begin_reading
from app.db import MAX_ID
from app.feeds import feeds
from app.security import add_headers, storable

PRIVATE = {"member": True, "venue": True, "space": True, "busy": False}  # busy feeds are public
PATH = re.compile(r"/feeds/(member|venue|space|busy)/([0-9]{1,10})/([^/]+)\.ics")


class Poll(NamedTuple):
    owner: feeds.Owner
    etag: str
    headers: dict[str, str]


def check(kind: str, owner_id: int, secret: str, language: str, now: datetime) -> Poll | None:
    """The feed's ETag and the headers every answer to it carries; None when the secret is wrong."""
    owner = feeds.owner(kind, owner_id, language)
    if owner is None or owner.secret is None or not hmac.compare_digest(secret.encode(), owner.secret.encode()):
        return None
    etag = owner.etag(kind, owner_id, now)
    headers = {
        "ETag": f'"{etag}"',
        "Cache-Control": ("private" if PRIVATE[kind] else "public") + ", max-age=900",
        "X-Content-Type-Options": "nosniff",
    }
    return Poll(owner, etag, headers)


def language_of(lang: str | None) -> str:
    """Feeds without an owner's language: `?lang=en`, else Dutch."""
    return "en" if lang == "en" else "nl"


class FeedPolls:
    """WSGI middleware: a 304 for a feed poll whose If-None-Match holds the current ETag."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("HTTP_IF_NONE_MATCH") and environ.get("REQUEST_METHOD") == "GET":
            found = PATH.fullmatch(environ.get("PATH_INFO", ""))
            if found is not None and int(found[2]) <= MAX_ID and _storable(environ):
                response = self._not_modified(environ, found[1], int(found[2]), found[3])
                if response is not None:
                    return response(environ, start_response)
        return self.wsgi_app(environ, start_response)

    def _not_modified(self, environ, kind: str, owner_id: int, secret: str) -> Response | None:
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        language = language_of(next((value for key, value in query if key == "lang"), None))
        try:
            with self.app.app_context():
                begin_reading()  # on SQLite a deferred BEGIN: polls never queue behind bookings
                poll = check(kind, owner_id, secret, language, feeds.now_utc())
        except Exception:  # the app answers, and reports the error its own way
            return None
        if poll is None or not parse_etags(environ["HTTP_IF_NONE_MATCH"]).contains_weak(poll.etag):
            return None
        # Every answer of the app varies by cookie (Flask-Login reads the session after each
        # request), so this one says so too: a cache in between must not mix the two.
        return add_headers(self.app, Response(status=304, headers={**poll.headers, "Vary": "Cookie"}))


def _storable(environ) -> bool:
    """What the app refuses with a 400 (`security.refuse_unstorable_text`) goes on to the app."""
    texts = (v for k, v in environ.items() if k.startswith("HTTP_") or k in ("PATH_INFO", "QUERY_STRING"))
    return all(storable(unquote(text, errors="surrogateescape")) for text in texts if isinstance(text, str))


def install(app: Flask) -> None:
    if app.config.get("FEED_POLLS_BEFORE_APP", True):
        app.wsgi_app = FeedPolls(app, app.wsgi_app)
