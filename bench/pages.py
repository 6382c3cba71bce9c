"""Signed-in page throughput and latency under concurrent clients, against a bare page in the same run.

    .venv/bin/python bench/pages.py [--clients 64] [--seconds 20] [--pages home,lesson] [--path /other]

Starts Shixun (SQLite, demo data, one web process, no worker) and bench/bare_app.py on free ports, signs
in one demo trainee per client, then every client requests the page in a loop for the given time:
"home" is the trainee's home page with "my learning" (their courses, progress and study hours),
"lesson" the lesson player of the first course in their list (each client starts that course first, as a
trainee would). The bare page, padded to the same number of bytes, runs in the same run: Shixun and the
bare page take turns in --rounds alternating rounds, so that a change of the machine's speed weighs on
both alike. Prints requests/s, p50/p90/p99 latency for both, and the ratio.

The clients sign in with httpx (cookies, CSRF, redirects), then measure with bench/http1.py's lean
keep-alive client on uvloop, in this one process on the same cores as the servers. httpx cost so much
CPU per request that it saturated its own core first and both servers idled part of the time (the
ratio then measured the client); the CPU columns (server process, load generator, in % of one core over
the rounds) show which side is the bottleneck: a server near 100 % of its core(s) and a load generator
far below.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.http1 import Connection, cpu_seconds, run_async  # noqa: E402

PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def start_shixun(data_dir: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIXUN_")}
    env.update(SHIXUN_DATA_DIR=data_dir, SHIXUN_DEMO_MODE="true", SHIXUN_LOG_LEVEL="WARNING",
               SHIXUN_LOGIN_MAX_FAILURES="1000")
    for cmd in (["migrate"], ["seed-demo"]):
        subprocess.run([PY, "-m", "app.cli", *cmd], cwd=ROOT, env=env, check=True, capture_output=True)
    proc = subprocess.Popen([PY, "-m", "app.cli", "serve", "--no-worker", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_up(f"http://127.0.0.1:{port}/healthz", proc)
    return proc


def start_bare(port: int, db: str, size: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, BARE_DB=db, BARE_BYTES=str(size))
    proc = subprocess.Popen([PY, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_up(f"http://127.0.0.1:{port}/", proc)
    return proc


async def sign_in(base: str, username: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False)
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on /login"
    response = await client.post("/login", data={"username": username, "password": "shixun-demo", "csrf_token": token.group(1)})
    assert response.status_code == 303, f"sign-in of {username} failed: {response.status_code}"
    return client


async def lesson_path(client: httpx.AsyncClient) -> str:
    """The lesson player of the first course on the client's home page, starting the course if needed."""
    home = await client.get("/")
    course = re.search(r'href="(/learn/courses/\d+)"', home.text)
    assert course, "no course on the home page"
    page = await client.get(course.group(1))
    lesson = re.search(r'href="(/learn/lessons/\d+)', page.text)
    if lesson:
        return lesson.group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no start form on the course page"
    started = await client.post(course.group(1) + "/start", data={"csrf_token": token.group(1)})
    assert started.status_code == 303, f"starting {course.group(1)} failed: {started.status_code}"
    return started.headers["location"].split("?")[0]


@dataclass
class Run:
    """What one side (Shixun or the bare page) gave over its rounds."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    client_cpu: float = 0.0  # CPU seconds of this load generator while it measured this side
    server_cpu: float = 0.0  # CPU seconds of the server process in the same time


async def hammer(clients: list[Connection], paths: str | list[str], seconds: float, run: Run | None = None,
                 server_pid: int | None = None) -> None:
    """Every client requests its path in a loop (the next request when the answer is in) for `seconds`."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = 0

    async def loop(client: Connection, path: str) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                status, _ = await client.request("GET", path)
            except (ConnectionError, asyncio.IncompleteReadError):  # a connection the server had just closed
                client.close()
                started = time.perf_counter()
                status, _ = await client.request("GET", path)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors += 1

    per_client = paths if isinstance(paths, list) else [paths] * len(clients)
    began, client_cpu, server_cpu = time.perf_counter(), cpu_seconds(), cpu_seconds(server_pid)
    await asyncio.gather(*(loop(c, p) for c, p in zip(clients, per_client, strict=True)))
    if run is not None:
        run.seconds += time.perf_counter() - began
        run.client_cpu += cpu_seconds() - client_cpu
        run.server_cpu += cpu_seconds(server_pid) - server_cpu
        run.latencies += latencies
        run.errors += errors


def summary(name: str, run: Run) -> float:
    latencies = sorted(run.latencies)
    q = statistics.quantiles(latencies, n=100)
    rps = len(latencies) / run.seconds
    print(f"{name:10} {rps:8.1f} req/s  p50 {q[49] * 1000:6.1f} ms  p90 {q[89] * 1000:6.1f} ms  "
          f"p99 {q[98] * 1000:6.1f} ms  n={len(latencies)} errors={run.errors}  "
          f"CPU: server {run.server_cpu / run.seconds:4.0%}, load generator {run.client_cpu / run.seconds:4.0%} of a core")
    return rps


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20, help="per page and server, in --rounds alternating rounds")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--pages", default="home,lesson", help="comma-separated: home, lesson")
    parser.add_argument("--path", help="measure this path instead (same for every client)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shixun-bench-") as tmp:
        shixun_port = free_port()
        shixun = start_shixun(tmp, shixun_port)
        try:
            base = f"http://127.0.0.1:{shixun_port}"
            usernames = [f"trainee{n}" for n in range(3, 3 + args.clients)]
            browsers = [await sign_in(base, u) for u in usernames]
            print(f"{args.clients} concurrent signed-in clients, {args.seconds:.0f} s per page, {os.cpu_count()} cores, "
                  "one server process each")
            pages: list[tuple[str, list[str]]] = []
            if args.path:
                pages.append((args.path, [args.path] * len(browsers)))
            else:
                for name in args.pages.split(","):
                    if name == "home":
                        pages.append(("home /", ["/"] * len(browsers)))
                    elif name == "lesson":
                        pages.append(("lesson player", [await lesson_path(c) for c in browsers]))
                    else:
                        raise SystemExit(f"unknown page {name!r}")
            # Signed in with httpx (cookies, CSRF, redirects); measured with the lean client and each
            # browser's session cookie.
            clients = [Connection("127.0.0.1", shixun_port, {"Cookie": "; ".join(f"{k}={v}" for k, v in b.cookies.items())})
                       for b in browsers]
            for label, paths in pages:
                status, sample = await clients[0].request("GET", paths[0])
                assert status == 200, f"{paths[0]}: {status}"
                bare_port = free_port()
                bare = start_bare(bare_port, f"{tmp}/bare.db", len(sample))
                try:
                    bare_clients = [Connection("127.0.0.1", bare_port) for _ in usernames]
                    bare_size = len((await bare_clients[0].request("GET", "/"))[1])
                    await hammer(clients, paths, 2)  # warm-up
                    await hammer(bare_clients, "/", 2)
                    print(f"-- {label}: {len(sample)} bytes (bare page {bare_size} bytes)")
                    # Alternating rounds, so that a change of the machine's speed during the run (a shared
                    # machine's neighbours) weighs on both alike.
                    ours, theirs = Run(), Run()
                    for _ in range(args.rounds):
                        await hammer(clients, paths, args.seconds / args.rounds, ours, shixun.pid)
                        await hammer(bare_clients, "/", args.seconds / args.rounds, theirs, bare.pid)
                    ratio = summary("shixun", ours) / summary("bare page", theirs)
                    print(f"ratio shixun/bare: {ratio:.2f}x")
                    for c in bare_clients:
                        c.close()
                finally:
                    bare.terminate()
                    bare.wait(timeout=10)
            for c in clients:
                c.close()
            for b in browsers:
                await b.aclose()
        finally:
            shixun.terminate()
            shixun.wait(timeout=10)

if __name__ == "__main__":
    run_async(main())
