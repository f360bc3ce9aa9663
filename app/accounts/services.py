"""Account rules: registration, log-in with throttling, passwords, profile, API tokens.

Services take the acting user explicitly, flush but never commit (the view commits once),
and raise `DomainError`s with field messages.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from app.accounts.models import LANGUAGES, ROLES, ApiToken, User
from app.accounts.throttle import Throttle
from app.db import new_feed_token, now_utc
from app.errors import DomainError, Forbidden, NotFound, Throttled
from app.extensions import db

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
TOKEN_PREFIX = "dbj_"
LAST_USED_RESOLUTION = timedelta(minutes=5)

# A hash to check against when the account does not exist, so timing does not tell.
_DUMMY_HASH = generate_password_hash("dummy-password", method="scrypt:1024:8:1")


def normalise_email(email: str) -> str:
    """Lower-case the whole address: e-mail addresses are treated as case-insensitive.

    Mail goes out over plain SMTP, so the address must be ASCII: a non-ASCII mailbox name (which
    needs SMTPUTF8) is refused here, and an internationalised domain is kept in its ASCII form."""
    try:
        info = validate_email(email.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise DomainError.on("email", _l("Enter a valid e-mail address.")) from exc
    return info.ascii_email.lower()


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def check_password_rules(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError.on(field, _l("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError.on(field, _l("Use at most %(n)s characters.", n=MAX_PASSWORD_LENGTH))


def user_by_email(email: str) -> User | None:
    """The account for an address as a person types it (any case, a domain in Unicode)."""
    try:
        key = normalise_email(email)
    except DomainError:
        key = email.strip().lower()
    return db.session.scalar(sa.select(User).where(User.email == key))


def register_user(email: str, password: str, name: str, language: str = "nl", role: str = "member") -> User:
    email = normalise_email(email)
    if role not in ROLES:
        raise DomainError.on("role", _l("Unknown role."))
    if language not in LANGUAGES:
        raise DomainError.on("language", _l("Choose Dutch or English."))
    name = name.strip()
    if not name:
        raise DomainError.on("name", _l("Enter your name."))
    check_password_rules(password)
    if user_by_email(email) is not None:
        raise DomainError.on("email", _l("An account with this e-mail address already exists."))
    user = User(email=email, name=name, language=language, role=role, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str, address: str, throttle: Throttle, scope: str = "login") -> User:
    """Check credentials, counting failures per account and per address.

    Once either count reaches the limit, even a right password is refused until the window
    has passed: a guesser learns nothing from the answer.
    """
    account_key = f"{scope}:account:{email.strip().lower()}"
    address_key = f"{scope}:address:{address}"
    if throttle.blocked(account_key, address_key):
        raise Throttled(
            str(_l("Too many failed attempts. Wait a quarter of an hour and try again.")),
            retry_after=throttle.window,
        )
    user = user_by_email(email)
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not valid or not user.active:
        throttle.hit(account_key, address_key)
        raise DomainError({"email": [str(_l("E-mail address or password is wrong."))]})
    throttle.reset(account_key)
    return user


def change_password(user: User, current: str, new: str) -> None:
    if not check_password_hash(user.password_hash, current):
        raise DomainError.on("current_password", _l("This is not your current password."))
    check_password_rules(new, field="new_password")
    user.password_hash = hash_password(new)
    db.session.flush()


def update_profile(user: User, name: str, language: str) -> None:
    name = name.strip()
    if not name:
        raise DomainError.on("name", _l("Enter your name."))
    if language not in LANGUAGES:
        raise DomainError.on("language", _l("Choose Dutch or English."))
    user.name = name
    user.language = language
    db.session.flush()


def set_language(user: User, language: str) -> None:
    if language in LANGUAGES:
        user.language = language
        db.session.flush()


def _token_hash(plaintext: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough; no salt needed.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_api_token(user: User, label: str = "") -> tuple[ApiToken, str]:
    """Make a token; the plaintext is returned once and never stored."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, label=label.strip()[:100], token_hash=_token_hash(plaintext), prefix=plaintext[:10])
    db.session.add(token)
    db.session.flush()
    return token, plaintext


def revoke_api_token(actor: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.id:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = now_utc()
        db.session.flush()
    return token


# Every API request asks this: one statement, built once per process (no eager-loading machinery).
_TOKEN_AND_USER = (
    sa.select(ApiToken, User)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == sa.bindparam("token_hash"))
)


def user_for_token(plaintext: str, record_use: bool = True) -> User | None:
    """The token's user, or None. `record_use` notes when the token was last used to change
    something (reads do not write, so they never wait for a write lock)."""
    row = db.session.execute(_TOKEN_AND_USER, {"token_hash": _token_hash(plaintext)}).first()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or not user.active:
        return None
    now = now_utc()
    # Written at most every few minutes: a write per API read would serialise readers on SQLite.
    if record_use and (token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION):
        token.last_used_at = now
    return user


def list_users(actor: User) -> list[User]:
    if not actor.is_admin:
        raise Forbidden(detail=str(_l("Only administrators may see all accounts.")))
    return list(db.session.scalars(sa.select(User).order_by(User.id)))


def set_home(user: User, label: str, lat: float | None, lon: float | None) -> None:
    """Where the member walks from. Both coordinates or neither; only the member sees it."""
    label = (label or "").strip()[:100]
    if (lat is None) != (lon is None):
        raise DomainError.on("home_lat" if lat is None else "home_lon", _l("Give both latitude and longitude."))
    if lat is not None and not (-90 <= lat <= 90):
        raise DomainError.on("home_lat", _l("Latitude is a number between -90 and 90."))
    if lon is not None and not (-180 <= lon <= 180):
        raise DomainError.on("home_lon", _l("Longitude is a number between -180 and 180."))
    user.home_label, user.home_lat, user.home_lon = label, lat, lon
    db.session.flush()


def neighbourhoods() -> list[tuple[str, float, float]]:
    """Neighbourhoods that have published venues, each with the centre of its venues.

    Members pick one as their home location when they would rather not give coordinates.
    """
    from app.venues.models import Venue

    rows = db.session.execute(
        sa.select(Venue.neighbourhood, sa.func.avg(Venue.lat), sa.func.avg(Venue.lon))
        .where(Venue.published, Venue.neighbourhood != "")
        .group_by(Venue.neighbourhood)
        .order_by(Venue.neighbourhood)
    )
    return [(name, float(lat), float(lon)) for name, lat, lon in rows]


def rotate_feed_token(user: User) -> str:
    """A new secret for the member's calendar feed; the old URL is 404 from now on."""
    user.feed_token = new_feed_token()
    db.session.flush()
    return user.feed_token


# -- administration (the association's coordinator) -------------------------------------------

ADMIN_PAGE_SIZE = 50


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden(detail=str(_l("Only administrators may manage accounts.")))


def _account(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def account_for_admin(actor: User, user_id: int) -> User:
    """One account, for an administrator's eyes only."""
    _require_admin(actor)
    return _account(user_id)


def search_users(
    actor: User, query: str = "", page: int = 1, per_page: int = ADMIN_PAGE_SIZE
) -> tuple[list[User], int]:
    """Accounts whose name or e-mail address contains `query` (any case), newest first,
    one page at a time; returns the page and the number of matches."""
    _require_admin(actor)
    condition = sa.true()
    words = (query or "").strip().lower()[:100]
    if words:
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        condition = sa.or_(sa.func.lower(User.name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(User).where(condition)) or 0
    page = max(1, page)
    users = db.session.scalars(
        sa.select(User)
        .where(condition)
        .order_by(User.created_at.desc(), User.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(users), total


def set_role(actor: User, user_id: int, role: str) -> User:
    """Make an account a member, a venue manager or an administrator.

    An administrator never changes their own role: that way there is always one left.
    """
    _require_admin(actor)
    user = _account(user_id)
    if role not in ROLES:
        raise DomainError.on("role", _l("Choose member, venue manager or administrator."))
    if user.id == actor.id and role != user.role:
        raise DomainError.on("role", _l("You cannot change your own role. Ask another administrator."))
    user.role = role
    if role == "member":
        # A member manages no venue: demotion also ends the venues' trust in them.
        from app.venues.models import venue_managers

        db.session.execute(sa.delete(venue_managers).where(venue_managers.c.user_id == user.id))
    db.session.flush()
    return user


def set_active(actor: User, user_id: int, active: bool) -> User:
    """Deactivate or reactivate an account. An inactive account cannot log in or use its API
    tokens (see `authenticate`, `user_for_token` and the session loader), and its calendar feed
    is gone (`feeds.owner`); its bookings stay."""
    _require_admin(actor)
    user = _account(user_id)
    if user.id == actor.id and not active:
        raise DomainError.on("", _l("You cannot deactivate your own account. Ask another administrator."))
    user.active = bool(active)
    db.session.flush()
    return user
