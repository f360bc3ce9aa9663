"""`make bench`: Dichtbij under load, next to a bare Flask app on the same server settings.

1. Seed (or reuse from bench/.cache/) a large database through the service layer (bench/seed.py).
2. Serve a bare Flask "hello" app (bench/hello.py) with gunicorn and measure it: the ceiling.
3. Serve Dichtbij on a copy of the seeded database as production does
   (`gunicorn --workers N --threads T wsgi:app`, DICHTBIJ_CONFIG=production).
4. Drive each scenario with wrk on 127.0.0.1 only, print p50/p95/p99 and requests/s with every
   throughput as a ratio to "hello", check the goals, sweep the database for over-capacity,
   and read each worker's memory from /proc.

Nothing here asserts timings in tests: the goals are reported as met or not met.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import cache, load, seed
from bench.load import Result, Server, raw, run_wrk, settle
from bench.scenarios import GROUPS, measure_app, read_world

ROOT = seed.ROOT


def machine() -> dict:
    import sqlite3

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")  # fmt: skip
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    pg = subprocess.run([seed_pgbin() / "postgres", "--version"], capture_output=True, text=True)
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg.stdout.split()[2] if pg.returncode == 0 else "not installed",
        "wrk": (wrk.stdout or wrk.stderr).split("[")[0].strip().removeprefix("wrk ").strip(),
    }


def seed_pgbin() -> Path:
    return Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))


def ensure_wrk() -> None:
    """Install Debian's wrk when it is missing, the way scripts/system-deps installs packages."""
    if shutil.which("wrk"):
        return
    print("bench: installing wrk (apt-get)", flush=True)
    sudo = [] if os.geteuid() == 0 else (["sudo"] if shutil.which("sudo") else None)
    if sudo is None:
        sys.exit("bench: need root (or sudo) to install wrk with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-q"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", "wrk"], check=True, env=env)


@dataclass
class Goal:
    text: str
    measured: str
    met: bool


@dataclass
class Report:
    machine: dict
    scale: dict
    settings: dict
    results: list[Result] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    checks: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark Dichtbij under load (see docs/performance.md).")
    parser.add_argument("--venues", type=int, default=seed.Scale.venues)
    parser.add_argument("--spaces", type=int, default=seed.Scale.spaces)
    parser.add_argument("--bookings", type=int, default=seed.Scale.bookings)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--scale", action="store_true", help="1,000,000 bookings on PostgreSQL")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", 4)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", 2)))
    parser.add_argument("--clients", type=int, default=16, help="connections for the throughput runs")
    parser.add_argument("--duration", type=float, default=15, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up before each run")
    parser.add_argument("--output", type=Path, default=None, help="write the report as JSON here")
    parser.add_argument("--only", default=",".join(GROUPS),
                        help=f"comma-separated scenarios to run (default all: {','.join(GROUPS)}); a partial run "
                             "judges only its goals and writes its report to bench/.cache/partial-*.json")  # fmt: skip
    parser.add_argument("--priority", type=int, default=-10 if os.geteuid() == 0 else 0,
                        help="nice value for gunicorn and wrk (default -10 as root: other jobs on a shared "
                             "machine then take less of the measured CPU)")  # fmt: skip
    args = parser.parse_args(argv)
    args.only = frozenset(g.strip() for g in args.only.split(",") if g.strip())
    if args.only - set(GROUPS):
        parser.error(f"--only: unknown {', '.join(sorted(args.only - set(GROUPS)))}; choose from {', '.join(GROUPS)}")
    load.PRIORITY = args.priority
    if args.scale:
        args.database, args.bookings = "postgresql", 1_000_000
    if args.database == "postgresql" and not os.environ.get("TEST_POSTGRESQL_URL"):
        # A throwaway cluster for the run, the same one `make test` uses.
        if not (seed_pgbin() / "initdb").exists():
            subprocess.run([str(ROOT / "scripts" / "system-deps")], check=True)
        argv_again = [sys.executable, "-m", "bench.run", *(argv if argv is not None else sys.argv[1:])]
        return subprocess.run([str(ROOT / "scripts" / "with-postgres"), *argv_again], cwd=ROOT).returncode
    ensure_wrk()
    started = time.perf_counter()
    scale = seed.Scale(args.venues, args.spaces, args.bookings, args.database)
    report = Report(machine=machine(), scale=asdict(scale), settings={
        "workers": args.workers, "threads": args.threads, "clients": args.clients,
        "duration_s": args.duration, "warmup_s": args.warmup, "priority": args.priority})  # fmt: skip
    report.checks["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    print(f"bench: {report.machine}, load average {report.checks['load_average_at_start']}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="dichtbij-bench."))
    try:
        url, meta, cleanup = working_database(scale, work, report)
        try:
            run_scenarios(args, report, url, meta, work)
        finally:
            cleanup()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.seconds["total"] = round(time.perf_counter() - started, 1)
    print()
    print(table(report))
    print()
    print(goals_table(report))
    print()
    print(f"bench: checks {json.dumps(report.checks)}")
    print(f"bench: took {report.seconds['total']:.0f} s (seeding or restoring {report.seconds.get('seed', 0):.0f} s)")
    partial = "" if args.only == set(GROUPS) else "partial-"
    output = args.output or seed.CACHE / f"{partial}report-{scale.database}-{scale.bookings}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(asdict(report), indent=1, default=str))
    print(f"bench: report written to {output}")
    ok = report.checks.get("over_capacity_spaces") == 0 and not report.checks.get("unexpected_statuses")
    return 0 if ok else 1


def working_database(scale: seed.Scale, work: Path, report: Report):
    """A throwaway copy of the seeded database: the booking runs write into it."""
    t0 = time.perf_counter()
    if scale.database == "sqlite":
        source, meta = cache.sqlite_seeded(scale)
        target = work / "bench.db"
        cache.copy_sqlite(source, target)
        report.seconds["seed"] = round(time.perf_counter() - t0, 1)
        return f"sqlite:///{target}", meta, lambda: None
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    admin_url = os.environ["TEST_POSTGRESQL_URL"]
    seeded_url, meta = cache.postgresql_seeded(scale, admin_url)
    admin = make_url(admin_url)
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS "bench_run" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "bench_run" TEMPLATE "{make_url(seeded_url).database}"')
    report.seconds["seed"] = round(time.perf_counter() - t0, 1)

    def cleanup() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql('DROP DATABASE IF EXISTS "bench_run" WITH (FORCE)')
        engine.dispose()

    return admin.set(database="bench_run").render_as_string(hide_password=False), meta, cleanup


def server_env(url: str, work: Path) -> dict:
    return {
        **os.environ,
        "DICHTBIJ_CONFIG": "production",
        "SESSION_COOKIE_SECURE": "0",  # plain HTTP on loopback
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-not-secret",
        "DICHTBIJ_INSTANCE": str(work / "instance"),  # mail lands in instance/outbox/ (no SMTP server)
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def run_scenarios(args, report: Report, url: str, meta: seed.Meta, work: Path) -> None:
    rng = random.Random(7)
    d, w, c = args.duration, args.warmup, args.clients
    env = server_env(url, work)
    log = work / "gunicorn.log"

    # The ceiling, with the same gunicorn settings.
    hello = Server("bench.hello:app", args.workers, args.threads, env, log)
    hello.wait("/")
    load.SERVER = hello
    try:
        hello_requests = [raw("GET", "/", hello.port)]
        ceiling = {
            c: run_wrk(f"hello ({c} clients)", hello.port, hello_requests, c, d, work, w),
            1: run_wrk("hello (1 client)", hello.port, hello_requests, 1, d, work, w),
        }
        report.results += list(ceiling.values())
        report.checks["hello_worker_rss_mb"] = hello.worker_rss_mb()
    finally:
        hello.stop()

    world = read_world(url)
    app = Server("wsgi:app", args.workers, args.threads, env, log)
    app.wait("/healthz")
    load.SERVER = app
    port = app.port
    try:
        results = measure_app(port, url, world, meta, rng, d, w, c, work, report, args.only)
    finally:
        settle()
        report.checks["worker_rss_mb"] = app.worker_rss_mb()
        app.stop()
        load.SERVER = None
    for r in results:
        base = ceiling.get(r.clients)
        r.ratio = round(r.rps / base.rps, 3) if base else None
        r.cpu_ratio = round(base.cpu_ms / r.cpu_ms, 3) if base and r.cpu_ms else None
    report.results += results
    bad = cache.over_capacity(url)
    report.checks["over_capacity_spaces"] = len(bad)
    if bad:
        report.checks["over_capacity_examples"] = bad[:5]
    report.goals = judge(report, results)
    tail = log.read_text()[-4000:] if log.exists() else ""
    if "Traceback" in tail:
        report.checks["server_log_tail"] = tail


def judge(report: Report, results: list[Result]) -> list[Goal]:
    """Every goal whose scenarios ran (all of them in a full run)."""

    def find(prefix: str, clients: int | None = None, suffix: str = "") -> Result | None:
        return next((r for r in results if r.name.startswith(prefix) and r.name.endswith(suffix)
                     and (clients is None or r.clients == clients)), None)  # fmt: skip

    goals = []
    clients = report.settings["clients"]
    if availability := find("availability", clients):
        goals.append(Goal("availability ≥ 40% of hello", f"{availability.ratio:.0%}", availability.ratio >= 0.40))
    for label in ("member feed", "venue feed"):
        if r := find(label, suffix="304"):
            goals.append(Goal(f"{label} 304 ≥ 70% of hello", f"{r.ratio:.0%}", r.ratio >= 0.70))
    bookings_n = report.scale["bookings"]
    if (search1 := find("search", 1)) and (search := find("search", clients)):
        goals.append(Goal(f"search p95 ≤ 50 ms at {bookings_n:,} bookings ({report.scale['database']}), 1 client",
                          f"{search1.p95_ms:.0f} ms", search1.p95_ms <= 50))  # fmt: skip
        goals.append(Goal(f"search p95 ≤ 50 ms, {search.clients} clients", f"{search.p95_ms:.0f} ms",
                          search.p95_ms <= 50))  # fmt: skip
    if many := find("create booking, many"):
        target = 250 if report.scale["database"] == "sqlite" else 170
        created_rate = many.statuses.get("201", 0) / many.seconds
        goals.append(Goal(f"booking creation ≥ {target}/s (201s per second, many spaces)",
                          f"{created_rate:.0f}/s ({many.rps:.0f} answers/s)", created_rate >= target))  # fmt: skip
    goals.append(Goal("zero over-capacity after the run", f"{report.checks['over_capacity_spaces']} spaces",
                      report.checks["over_capacity_spaces"] == 0))  # fmt: skip
    if cal := find("manager day calendar"):
        goals.append(Goal("manager day calendar ≥ 330 req/s", f"{cal.rps:.0f} req/s", cal.rps >= 330))
        goals.append(Goal("manager day calendar median ≤ 47 ms", f"{cal.p50_ms:.0f} ms", cal.p50_ms <= 47))
    if venue_cold := next((r for r in results if r.name.startswith("venue feed") and "cold" in r.name), None):
        events = report.checks.get("venue feed events", 0)
        goals.append(Goal(f"venue feed ({events:,} events) cold < 0.5 s (p95, 1 client)",
                          f"{venue_cold.p95_ms / 1000:.2f} s", venue_cold.p95_ms < 500))  # fmt: skip
    rss = report.checks.get("worker_rss_mb") or [0]
    goals.append(Goal("gunicorn worker memory ≤ 120 MB (RSS after the run)", f"max {max(rss):.0f} MB",
                      max(rss) <= 120))  # fmt: skip
    if bookings_n >= 1_000_000 and find("search", 1) and find("availability", 1):
        goals += scale_goals(report, results)
    return goals


SCALE_BASE = 10_000  # "latency at 1M bookings within 1.5× of 10k"


def scale_goals(report: Report, results: list[Result]) -> list[Goal]:
    """Search and availability at this scale against the last saved run with 10,000 bookings on
    the same database (`make bench BENCH_ARGS="--database postgresql --bookings 10000"`)."""
    database = report.scale["database"]
    base_path = seed.CACHE / f"report-{database}-{SCALE_BASE}.json"
    rows = [("search near + free window", 1), ("availability, a week", 1)]
    if not base_path.exists():
        return [Goal(f"{name} p95 at {report.scale['bookings']:,} within 1.5× of {SCALE_BASE:,} bookings",
                     f"no {SCALE_BASE:,}-booking report ({base_path.name}) to compare with", False)
                for name, _ in rows]  # fmt: skip
    base = json.loads(base_path.read_text())["results"]
    goals = []
    for name, clients in rows:
        now = next(r for r in results if r.name.startswith(name) and r.clients == clients)
        then = next((r for r in base if r["name"].startswith(name) and r["clients"] == clients), None)
        if then is None:
            goals.append(Goal(f"{name} p95 within 1.5× of {SCALE_BASE:,} bookings",
                              f"no {clients}-client run in {base_path.name}", False))  # fmt: skip
            continue
        ratio = now.p95_ms / then["p95_ms"] if then["p95_ms"] else float("inf")
        goals.append(Goal(f"{name} (1 client) p95 at "
                          f"{report.scale['bookings']:,} within 1.5× of {SCALE_BASE:,} bookings",
                          f"{now.p95_ms:.0f} ms vs {then['p95_ms']:.0f} ms: {ratio:.2f}× "
                          f"(CPU {now.cpu_ms:.1f} vs {then['cpu_ms']:.1f} ms/req)", ratio <= 1.5))  # fmt: skip
    return goals


def table(report: Report) -> str:
    lines = [
        "| scenario | clients | requests | req/s | × hello | p50 ms | p95 ms | p99 ms | answers "
        "| server CPU ms/req | × hello (CPU) | other load (cores) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for r in report.results:
        ratio = f"{r.ratio:.0%}" if r.ratio is not None else "—"
        answers = ", ".join(f"{k}: {v}" for k, v in r.statuses.items())
        if r.errors:
            answers += " · errors " + ", ".join(f"{k}: {v}" for k, v in r.errors.items())
        cpu_ratio = f"{r.cpu_ratio:.0%}" if r.cpu_ratio is not None else "—"
        lines.append(f"| {r.name} | {r.clients} | {r.requests} | {r.rps:.1f} | {ratio} | {r.p50_ms:.1f} | "
                     f"{r.p95_ms:.1f} | {r.p99_ms:.1f} | {answers} | {r.cpu_ms:.2f} | {cpu_ratio} | "
                     f"{r.other_cores:.2f} |")  # fmt: skip
    return "\n".join(lines)


def goals_table(report: Report) -> str:
    lines = ["| goal | measured | |", "| --- | --- | --- |"]
    lines += [f"| {g.text} | {g.measured} | {'met' if g.met else '**not met**'} |" for g in report.goals]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
