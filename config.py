"""Configuration classes, read from the environment.

`create_app()` picks one by `DICHTBIJ_CONFIG` (development, testing, production);
every setting can be overridden by an environment variable of the same name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("DICHTBIJ_INSTANCE", BASE_DIR / "instance"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'dichtbij.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict] = {"pool_pre_ping": True}
    SQLITE_BUSY_TIMEOUT_MS = env_int("SQLITE_BUSY_TIMEOUT_MS", 10_000)

    # Sessions and cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # Requests larger than this are refused with 413.
    MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
    # Number of reverse proxies in front of the app whose X-Forwarded-For is trusted.
    PROXY_FIX_X_FOR = env_int("PROXY_FIX_X_FOR", 0)

    # Throttling of failed log-ins and token requests: shared across workers.
    THROTTLE_LIMIT = env_int("THROTTLE_LIMIT", 10)
    THROTTLE_WINDOW_SECONDS = env_int("THROTTLE_WINDOW_SECONDS", 15 * 60)
    REDIS_URL = os.environ.get("REDIS_URL", "")

    # Password hashing (werkzeug's scrypt, a memory-hard KDF).
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")

    # Languages
    LANGUAGES = ("nl", "en")
    BABEL_DEFAULT_LOCALE = "nl"
    BABEL_DEFAULT_TIMEZONE = "Europe/Amsterdam"
    DEFAULT_TIMEZONE = os.environ.get("DEFAULT_TIMEZONE", "Europe/Amsterdam")

    # Mail
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Dichtbij <noreply@dichtbij.local>")
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000")  # absolute links in mail
    MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 30)  # seconds, for `flask mail send`
    # Right after a booking commits, a background thread tries to send its mail at once, with a
    # short timeout; what fails stays queued for `flask mail send`.
    MAIL_DELIVER_AFTER_COMMIT = env_bool("MAIL_DELIVER_AFTER_COMMIT", True)
    MAIL_TIMEOUT_AFTER_COMMIT = env_int("MAIL_TIMEOUT_AFTER_COMMIT", 5)

    # Calendars imported by URL (app/feeds/fetch.py): private and local addresses are refused
    # unless this is on (only for a closed network you trust); limits of one download.
    IMPORT_ALLOW_PRIVATE_ADDRESSES = env_bool("IMPORT_ALLOW_PRIVATE_ADDRESSES", False)
    IMPORT_TIMEOUT_SECONDS = env_int("IMPORT_TIMEOUT_SECONDS", 10)
    IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 5 * 1024 * 1024)
    IMPORT_MAX_REDIRECTS = env_int("IMPORT_MAX_REDIRECTS", 5)

    # Front-end packages installed by `npm ci`, served by the app.
    NODE_MODULES = Path(os.environ.get("NODE_MODULES", BASE_DIR / "node_modules"))


class DevelopmentConfig(Config):
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")


class TestingConfig(Config):
    TESTING = True
    # Tests share one connection per test; a delivery thread must not use it.
    MAIL_DELIVER_AFTER_COMMIT = False
    SECRET_KEY = "testing"
    # A cheap scrypt setting: tests hash many passwords.
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS[os.environ.get("DICHTBIJ_CONFIG", "development")]
