"""Signed-in page throughput and latency under concurrent clients, against a bare page in the same run.

    .venv/bin/python bench/pages.py [--clients 64] [--seconds 20] [--pages home,lesson] [--path /other]

Starts Shixun (SQLite, demo data, one web process, no worker) and bench/bare_app.py on free ports, signs
in one demo trainee per client, then every client requests the page in a loop for the given time:
"home" is the trainee's home page with "my learning" (their courses, progress and study hours),
"lesson" the lesson player of the first course in their list (each client starts that course first, as a
trainee would). The bare page, padded to the same number of bytes, runs in the same run: Shixun and the
bare page take turns in --rounds alternating rounds, so that a change of the machine's speed weighs on
both alike. Prints requests/s, p50/p90/p99 latency for both, and the ratio.
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
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
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


async def hammer(clients: list[httpx.AsyncClient], paths: str | list[str], seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def loop(client: httpx.AsyncClient, path: str) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                response = await client.get(path)
            except httpx.RemoteProtocolError:  # the server closed an idle keep-alive connection: reconnect
                started = time.perf_counter()
                response = await client.get(path)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors += 1

    per_client = paths if isinstance(paths, list) else [paths] * len(clients)
    await asyncio.gather(*(loop(c, p) for c, p in zip(clients, per_client, strict=True)))
    return latencies, errors


def summary(name: str, latencies: list[float], errors: int, seconds: float) -> float:
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    rps = len(latencies) / seconds
    print(f"{name:10} {rps:8.1f} req/s  p50 {q[49] * 1000:6.1f} ms  p90 {q[89] * 1000:6.1f} ms  "
          f"p99 {q[98] * 1000:6.1f} ms  n={len(latencies)} errors={errors}")
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
            clients = [await sign_in(base, u) for u in usernames]
            print(f"{args.clients} concurrent signed-in clients, {args.seconds:.0f} s per page, {os.cpu_count()} cores, "
                  "one server process each")
            pages: list[tuple[str, list[str]]] = []
            if args.path:
                pages.append((args.path, [args.path] * len(clients)))
            else:
                for name in args.pages.split(","):
                    if name == "home":
                        pages.append(("home /", ["/"] * len(clients)))
                    elif name == "lesson":
                        pages.append(("lesson player", [await lesson_path(c) for c in clients]))
                    else:
                        raise SystemExit(f"unknown page {name!r}")
            for label, paths in pages:
                sample = await clients[0].get(paths[0])
                assert sample.status_code == 200, f"{paths[0]}: {sample.status_code}"
                bare_port = free_port()
                bare = start_bare(bare_port, f"{tmp}/bare.db", len(sample.content))
                try:
                    bare_clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{bare_port}", timeout=30) for _ in usernames]
                    bare_size = len((await bare_clients[0].get("/")).content)
                    await hammer(clients, paths, 2)  # warm-up
                    await hammer(bare_clients, "/", 2)
                    print(f"-- {label}: {len(sample.content)} bytes (bare page {bare_size} bytes)")
                    # Alternating rounds, so that a change of the machine's speed during the run (a shared
                    # machine's neighbours) weighs on both alike.
                    ours_lat: list[float] = []
                    bare_lat: list[float] = []
                    ours_err = bare_err = 0
                    for _ in range(args.rounds):
                        lat, err = await hammer(clients, paths, args.seconds / args.rounds)
                        ours_lat += lat
                        ours_err += err
                        lat, err = await hammer(bare_clients, "/", args.seconds / args.rounds)
                        bare_lat += lat
                        bare_err += err
                    ours = summary("shixun", ours_lat, ours_err, args.seconds)
                    theirs = summary("bare page", bare_lat, bare_err, args.seconds)
                    print(f"ratio shixun/bare: {ours / theirs:.2f}x")
                    for c in bare_clients:
                        await c.aclose()
                finally:
                    bare.terminate()
                    bare.wait(timeout=10)
            for c in clients:
                await c.aclose()
        finally:
            shixun.terminate()
            shixun.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
