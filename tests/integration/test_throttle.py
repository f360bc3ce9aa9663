"""The log-in throttle counts across workers: shared storage, not process memory."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from app import create_app
from app.accounts.throttle import RedisThrottle
from app.extensions import db
from config import TestingConfig
from tests.support.databases import empty_database, migrate


def fail_login(client, email):
    return client.post("/api/v1/tokens", json={"email": email, "password": "wrong password"})


def test_two_workers_share_the_count(database_kind, tmp_path):
    """Two app instances, as two gunicorn workers would be, on one database."""
    url = empty_database(database_kind, "dichtbij_throttle", tmp_path)
    worker_a = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    worker_b = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    migrate(worker_a)
    from app.accounts.services import register_user

    with worker_a.app_context():
        register_user("kees@example.org", "long enough pw", "Kees")
        db.session.commit()
    a, b = worker_a.test_client(), worker_b.test_client()
    for i in range(10):
        assert fail_login(a if i % 2 else b, "kees@example.org").status_code == 401
    response = b.post("/api/v1/tokens", json={"email": "kees@example.org", "password": "long enough pw"})
    assert response.status_code == 429
    response = a.post("/api/v1/tokens", json={"email": "kees@example.org", "password": "long enough pw"})
    assert response.status_code == 429
    for app in (worker_a, worker_b):
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    assert server, "redis-server is missing: scripts/system-deps installs it"
    socket = tmp_path / "redis.sock"
    proc = subprocess.Popen(
        [server, "--port", "0", "--unixsocket", str(socket), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if socket.exists():
                break
            time.sleep(0.05)
        yield f"unix://{socket}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_redis_throttle_moving_window(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    throttle = RedisThrottle(client, limit=3, window=1)
    other = RedisThrottle(redis.Redis.from_url(redis_url), limit=3, window=1)  # another worker
    assert not throttle.blocked("login:account:a")
    throttle.hit("login:account:a", "login:address:1")
    other.hit("login:account:a", "login:address:1")
    assert not other.blocked("login:account:a")
    throttle.hit("login:account:a")
    assert other.blocked("login:account:a")
    assert not other.blocked("login:address:1")
    throttle.reset("login:account:a")
    assert not other.blocked("login:account:a")
    other.hit("login:address:1")
    assert throttle.blocked("login:address:1")
    time.sleep(1.1)
    assert not throttle.blocked("login:address:1")


def test_app_uses_redis_when_configured(redis_url, database_kind, tmp_path):
    url = empty_database(database_kind, "dichtbij_throttle_redis", tmp_path)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, REDIS_URL=redis_url)
    migrate(app)
    assert isinstance(app.extensions["dichtbij.throttle"], RedisThrottle)
    client = app.test_client()
    for _ in range(10):
        assert fail_login(client, "nobody@example.org").status_code == 401
    assert fail_login(client, "nobody@example.org").status_code == 429
    with app.app_context():
        db.engine.dispose()
