"""The seeded databases, kept in bench/.cache/ so a second run reuses them; and the sweep that
checks no space ever holds more seats than its capacity."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

from bench.seed import CACHE, MAX_AGE_DAYS, ROOT, Meta, Scale, seed_database


def over_capacity(url: str) -> list[tuple[int, int, int]]:
    """(space_id, capacity, peak) for every space where the held seats ever exceed the capacity."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    bad = []
    query = sa.text(
        'SELECT b.space_id, s.capacity, b.start, b."end", '
        "CASE WHEN b.whole OR b.kind = 'block' THEN s.capacity ELSE b.seats END "
        "FROM bookings b JOIN spaces s ON s.id = b.space_id "
        "WHERE b.status IN ('pending', 'confirmed') ORDER BY b.space_id"
    )
    with engine.connect() as conn:
        current, capacity, edges = None, 0, []

        def check() -> None:
            if current is None:
                return
            in_use = peak = 0
            for _t, delta in sorted(edges):
                in_use += delta
                peak = max(peak, in_use)
            if peak > capacity:
                bad.append((current, capacity, peak))

        for space_id, cap, start, end, seats in conn.execute(query):
            if space_id != current:
                check()
                current, capacity, edges = space_id, cap, []
            # Same instants compare equal whatever the driver returns (text or datetime).
            edges.append((str(start)[:19].replace("T", " "), seats))
            edges.append((str(end)[:19].replace("T", " "), -seats))
        check()
    engine.dispose()
    return bad


def fresh(meta_path: Path) -> Meta | None:
    if not meta_path.exists():
        return None
    meta = Meta(**json.loads(meta_path.read_text()))
    if (datetime.now(UTC).date() - date.fromisoformat(meta.anchor)).days > MAX_AGE_DAYS:
        return None
    return meta


def sqlite_seeded(scale: Scale, log=print) -> tuple[Path, Meta]:
    """The cached SQLite file for `scale`, seeded first when missing or stale."""
    CACHE.mkdir(parents=True, exist_ok=True)
    key = scale.key()
    path, meta_path = CACHE / f"{key}.db", CACHE / f"{key}.json"
    meta = fresh(meta_path) if path.exists() else None
    if meta is not None:
        log(f"seed: reusing {path.relative_to(ROOT)} (seeded {meta.anchor})")
        return path, meta
    for old in CACHE.glob(f"{scale.database}-{scale.venues}v-{scale.spaces}s-{scale.bookings}b-*"):
        old.unlink()
    partial = path.with_suffix(".partial.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    log(f"seed: building {path.relative_to(ROOT)}")
    t0 = time.perf_counter()
    meta = seed_database(f"sqlite:///{partial}", scale, log)
    meta.seconds["total"] = round(time.perf_counter() - t0, 1)
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(path)
    meta_path.write_text(json.dumps(asdict(meta), indent=1))
    log(f"seed: done in {meta.seconds['total']:.0f} s")
    return path, meta


def postgresql_seeded(scale: Scale, admin_url: str, log=print) -> tuple[str, Meta]:
    """A database `bench_seed_<key>` in the cluster at admin_url: restored from the cached dump
    when there is one, else seeded (and dumped for next time)."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    CACHE.mkdir(parents=True, exist_ok=True)
    key = scale.key()
    name = "bench_seed_" + hashlib.sha256(key.encode()).hexdigest()[:12]
    dump, meta_path = CACHE / f"{key}.dump", CACHE / f"{key}.json"
    admin = make_url(admin_url)
    url = admin.set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
    meta = fresh(meta_path) if (exists or dump.exists()) else None
    if meta is not None and exists:
        engine.dispose()
        log(f"seed: reusing database {name}")
        return url, meta
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    if meta is not None:
        log(f"seed: restoring {dump.relative_to(ROOT)}")
        t0 = time.perf_counter()
        _pg_tool("pg_restore", url, "--no-owner", "-j", "2", "-d", "{db}", str(dump))
        # A dump carries no planner statistics: gather them now, not by autovacuum mid-run.
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        engine.dispose()
        log(f"seed: restored and analysed in {time.perf_counter() - t0:.0f} s")
        return url, meta
    for old in CACHE.glob(f"{scale.database}-{scale.venues}v-{scale.spaces}s-{scale.bookings}b-*"):
        old.unlink()
    log(f"seed: building database {name}")
    t0 = time.perf_counter()
    meta = seed_database(url, scale, log)
    meta.seconds["total"] = round(time.perf_counter() - t0, 1)
    _pg_tool("pg_dump", url, "-Fc", "-f", str(dump), "{db}")
    meta_path.write_text(json.dumps(asdict(meta), indent=1))
    log(f"seed: done in {meta.seconds['total']:.0f} s")
    return url, meta


def _pg_tool(tool: str, url: str, *args: str) -> None:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    pgbin = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))
    env = {**os.environ, "PGHOST": u.query.get("host", u.host or ""), "PGUSER": u.username or "postgres"}
    if u.port:
        env["PGPORT"] = str(u.port)
    if u.password:
        env["PGPASSWORD"] = u.password
    argv = [str(pgbin / tool), *(a.replace("{db}", u.database) for a in args)]
    subprocess.run(argv, check=True, env=env)


def copy_sqlite(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
