"""The application factory: a list of register steps, no database work at import."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import INSTANCE_DIR, Config, config_from_env


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config_class or config_from_env())
    app.config.update(overrides)
    app.instance_path = str(INSTANCE_DIR)
    configure_secret_key(app)
    configure_logging(app)
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"])
    register_extensions(app)
    register_converters(app)
    register_blueprints(app)
    register_errors(app)
    register_hooks(app)
    register_middleware(app)
    register_cli(app)
    return app


def configure_secret_key(app: Flask) -> None:
    """Without SECRET_KEY, keep a random one in instance/ so sessions survive restarts."""
    if app.config.get("SECRET_KEY"):
        return
    path = Path(app.instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    app.config["SECRET_KEY"] = path.read_text().strip()


def configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def register_extensions(app: Flask) -> None:
    from flask_babel import gettext

    from app import database, i18n
    from app import models as _models  # noqa: F401  (every mapper registered before first use)
    from app.accounts.throttle import throttle_from_config
    from app.extensions import babel, csrf, db, login_manager

    database.configure_engine_options(app)
    db.init_app(app)
    database.register_engine_events(app)
    database.register_migrations(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "info"
    login_manager.login_message = i18n.N_("Log in to see this page.")
    login_manager.localize_callback = gettext
    login_manager.session_protection = "basic"
    app.extensions["dichtbij.throttle"] = throttle_from_config(app.config)

    from app.accounts.models import User

    @login_manager.user_loader
    def load_user(user_id: str):
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        return user if user is not None and user.active else None


def register_converters(app: Flask) -> None:
    """`<int:...>` in a URL is an id. One beyond MAX_ID would overflow the query (a 500); it
    becomes 0, which no row has, so the view gives its usual 404 (or 405 for a wrong method)."""
    from werkzeug.routing import IntegerConverter

    from app.db import MAX_ID

    class IdConverter(IntegerConverter):
        def to_python(self, value: str) -> int:
            number = super().to_python(value)
            return number if number <= MAX_ID else 0

    app.url_map.converters["int"] = IdConverter


def register_blueprints(app: Flask) -> None:
    from app.accounts.views import bp as accounts_bp
    from app.admin.views import bp as admin_bp
    from app.api import bp as api_bp
    from app.assets import bp as assets_bp
    from app.availability.views import bp as availability_bp
    from app.bookings.views import bp as bookings_bp
    from app.extensions import csrf
    from app.feeds.views import bp as feeds_bp
    from app.home.views import bp as home_bp
    from app.venues.views import bp as venues_bp

    app.register_blueprint(home_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(assets_bp)
    app.register_blueprint(feeds_bp)
    app.register_blueprint(bookings_bp)
    app.register_blueprint(venues_bp)
    app.register_blueprint(availability_bp)
    app.register_blueprint(admin_bp)
    csrf.exempt(api_bp)  # bearer tokens only, never the session cookie
    app.register_blueprint(api_bp)


def register_errors(app: Flask) -> None:
    from app import http_errors

    http_errors.register(app)


def register_hooks(app: Flask) -> None:
    from app import i18n, security
    from app.notifications.outbox import after_commit_delivery

    security.register(app)
    i18n.register(app)
    after_commit_delivery(app)


def register_middleware(app: Flask) -> None:
    """WSGI layers around the app: feed polls that end in 304 are answered before Flask."""
    from app.feeds import polls

    polls.install(app)


def register_cli(app: Flask) -> None:
    from app.accounts.cli import users_cli
    from app.demo.cli import demo_cli
    from app.feeds.cli import calendars_cli
    from app.notifications.cli import mail_cli
    from app.versions import versions_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(calendars_cli)
    app.cli.add_command(versions_cli)
