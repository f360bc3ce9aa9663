"""gunicorn and wrk on loopback: start a server, replay requests, and account for the CPU.

The CPU the server spends per request is measured from /proc, next to how much the rest of the
machine used meanwhile: on a shared machine that is the noise in the numbers.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.seed import ROOT

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"  # the only address this benchmark ever sends traffic to

USER_AGENT = "dichtbij-bench/1"

LUA = Path(__file__).resolve().parent / "replay.lua"

PRIORITY = 0  # nice value for gunicorn and wrk (--priority); negative needs root


def _prioritise() -> None:
    """Run in the child: a shared machine's other jobs should not steal the measurement's CPU."""
    if PRIORITY:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, PRIORITY)


@dataclass
class Result:
    name: str
    clients: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int]
    errors: dict[str, int]
    ratio: float | None = None  # rps / hello rps at the same number of clients
    server_cores: float = 0.0  # CPU the server used (gunicorn, and PostgreSQL when used), in cores
    cpu_ms: float = 0.0  # server CPU per request, in ms: robust against a busy machine
    cpu_ratio: float | None = None  # hello's cpu_ms / this cpu_ms
    other_cores: float = 0.0  # CPU everything else on the machine used (not wrk), in cores
    note: str = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """gunicorn on loopback, as `make run` starts it (without the access log)."""

    def __init__(self, target: str, workers: int, threads: int, env: dict, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log = log
        argv = [str(BIN / "gunicorn"), "--bind", f"{HOST}:{self.port}", "--workers", str(workers),
                "--threads", str(threads), target]  # fmt: skip
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                                     preexec_fn=_prioritise)  # fmt: skip
        self.workers = workers

    def wait(self, path: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"bench: gunicorn exited: {self.log.read_text()[-3000:]}")
            try:
                status, _h, _b = request("GET", self.port, path)
                if status == 200 and len(self.worker_pids()) == self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        sys.exit(f"bench: gunicorn did not start: {self.log.read_text()[-3000:]}")

    def worker_pids(self) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def worker_rss_mb(self) -> list[float]:
        out = []
        for pid in self.worker_pids():
            text = Path(f"/proc/{pid}/status").read_text()
            out.append(round(int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024, 1))
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def request(method: str, port: int, path: str, headers: dict | None = None, body: bytes | None = None):
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request(method, path, body=body, headers={"User-Agent": USER_AGENT, **(headers or {})})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def raw(method: str, path: str, port: int, headers: dict | None = None, body: str | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", f"User-Agent: {USER_AGENT}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    data = (body or "").encode()
    if body is not None:
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def busy_jiffies() -> int:
    """CPU time spent by the whole machine (all processes), in clock ticks."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # minus idle and iowait


def process_jiffies(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


SERVER: Server | None = None  # the gunicorn being measured; its CPU is told apart from the rest


def database_pids() -> list[int]:
    """The PostgreSQL server of this run (postmaster and its backends): part of what is measured.
    Found from the socket directory in TEST_POSTGRESQL_URL (scripts/with-postgres lays out
    <tmp>/socket and <tmp>/data side by side)."""
    from sqlalchemy.engine import make_url

    url = os.environ.get("TEST_POSTGRESQL_URL")
    if not url:
        return []
    socket_dir = make_url(url).query.get("host")
    pid_file = Path(str(socket_dir)).parent / "data" / "postmaster.pid" if socket_dir else None
    try:
        postmaster = int(pid_file.read_text().split()[0]) if pid_file else 0
    except (OSError, ValueError, IndexError):
        return []
    pids = [postmaster]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def measured_pids() -> list[int]:
    return [SERVER.proc.pid, *SERVER.worker_pids(), *database_pids()] if SERVER else []


def settle(limit: float = 60.0) -> None:
    """Wait until the server's workers are idle: requests still running after wrk stopped
    (a slow feed, say) must not eat into the next measurement."""
    if SERVER is None:
        return
    deadline = time.monotonic() + limit
    last = process_jiffies(SERVER.worker_pids())
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = process_jiffies(SERVER.worker_pids())
        if now - last <= 1:
            return
        last = now


def run_wrk(name: str, port: int, requests: list[bytes], clients: int, seconds: float, work: Path,
            warmup: float = 0.0) -> Result:  # fmt: skip
    """Replay `requests` with `clients` keep-alive connections for `seconds`.

    Also measures how many cores the rest of the machine (anything but this server and wrk)
    used meanwhile: on a shared machine that is the noise in the numbers.
    """
    path = work / f"{re.sub(r'[^a-z0-9]+', '-', name.lower())}.req"
    path.write_bytes(b"\0".join(requests))
    threads = min(2, clients)
    out = work / "wrk-result.json"

    def once(duration: float) -> dict:
        out.unlink(missing_ok=True)
        env = {**os.environ, "BENCH_REQUESTS": str(path), "BENCH_RESULT": str(out), "BENCH_THREADS": str(threads)}
        argv = ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{max(1, round(duration))}s",
                "--timeout", "60s", "-s", str(LUA), f"http://{HOST}:{port}/"]  # fmt: skip
        done = subprocess.run(argv, env=env, capture_output=True, text=True, preexec_fn=_prioritise)
        if done.returncode != 0 or not out.exists():
            sys.exit(f"bench: wrk failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
        return json.loads(out.read_text())

    settle()
    if warmup:
        once(warmup)
        settle()
    pids = measured_pids()
    ticks = os.sysconf("SC_CLK_TCK")
    busy0, server0, wrk0, t0 = busy_jiffies(), process_jiffies(pids), os.times(), time.monotonic()
    data = once(seconds)
    busy1, server1, wrk1, t1 = busy_jiffies(), process_jiffies(pids), os.times(), time.monotonic()
    wrk_cpu = (wrk1.children_user + wrk1.children_system) - (wrk0.children_user + wrk0.children_system)
    server_cpu = (server1 - server0) / ticks
    other = max(0.0, (busy1 - busy0) / ticks - server_cpu - wrk_cpu) / (t1 - t0)
    duration = data["duration_us"] / 1e6
    result = Result(
        name=name,
        clients=clients,
        requests=data["requests"],
        seconds=round(duration, 1),
        rps=round(data["requests"] / duration, 1),
        p50_ms=round(data["p50"] / 1000, 1),
        p95_ms=round(data["p95"] / 1000, 1),
        p99_ms=round(data["p99"] / 1000, 1),
        statuses=dict(sorted(data["statuses"].items())),
        errors={k: v for k, v in data["errors"].items() if v and k != "status"},
        server_cores=round(server_cpu / (t1 - t0), 2),
        cpu_ms=round(server_cpu / max(1, data["requests"]) * 1000, 2),
        other_cores=round(other, 2),
    )
    print(f"bench: {name:<48} {result.rps:>8.1f} req/s  p50 {result.p50_ms:>7.1f} ms  "
          f"p95 {result.p95_ms:>7.1f} ms  {result.statuses}  other load {other:.2f} cores", flush=True)  # fmt: skip
    return result


def sequential(name: str, port: int, path: str, seconds: float, least: int = 5, fresh_host: bool = False) -> Result:
    """One client, one request after another, each timed on its own: for slow requests (a cold
    feed) where a duration-bound wrk run would see a handful and count one still running.
    `fresh_host`: every request names another host, so the app's feed body cache (keyed by ETag
    and host) cannot answer it and each body is built."""
    settle()
    pids = measured_pids()
    ticks = os.sysconf("SC_CLK_TCK")
    latencies, statuses = [], defaultdict(int)
    busy0, server0, t0 = busy_jiffies(), process_jiffies(pids), time.monotonic()
    while len(latencies) < least or time.monotonic() - t0 < seconds:
        start = time.monotonic()
        headers = {"Host": f"bench-{len(latencies)}.invalid:{port}"} if fresh_host else None
        status, _h, _b = request("GET", port, path, headers)
        latencies.append(time.monotonic() - start)
        statuses[str(status)] += 1
        if len(latencies) >= 200:
            break
    elapsed = time.monotonic() - t0
    server_cpu = (process_jiffies(pids) - server0) / ticks
    other = max(0.0, (busy_jiffies() - busy0) / ticks - server_cpu - 0.0) / elapsed
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)

    result = Result(name=name, clients=1, requests=len(latencies), seconds=round(elapsed, 1),
                    rps=round(len(latencies) / elapsed, 2), p50_ms=pct(0.50), p95_ms=pct(0.95), p99_ms=pct(0.99),
                    statuses=dict(statuses), errors={}, server_cores=round(server_cpu / elapsed, 2),
                    cpu_ms=round(server_cpu / len(latencies) * 1000, 2), other_cores=round(other, 2),
                    note="sequential requests (not wrk)")  # fmt: skip
    print(f"bench: {name:<48} {result.rps:>8.2f} req/s  p50 {result.p50_ms:>7.1f} ms  "
          f"p95 {result.p95_ms:>7.1f} ms  {result.statuses}  other load {other:.2f} cores", flush=True)  # fmt: skip
    return result
