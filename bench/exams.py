"""Exam autosave under load: 500 trainees saving an answer every 5 s, a submit burst at the deadline, and
a ramp to the highest save rate that keeps p99 <= 200 ms without errors. Prints figures.

    .venv/bin/python bench/exams.py [--db sqlite|postgres] [--postgres-url URL] [--trainees 500]
        [--interval 5] [--seconds 60] [--ramp 2.5,1.25,0.6,0.45,0.3,0.15] [--ramp-down 10,20]
        [--ramp-seconds 20] [--burst 1] [--processes N (default: one per core)]

1. Setup: a temp data dir (and, with --db postgres, a throwaway database `shixun_bench_*` on the server of
   --postgres-url, dropped afterwards; no other database is touched), `shixun migrate`, then
   bench/exams_setup.py (the trainees, a bank of single/multiple choice and true/false questions, a fixed
   paper, a published exam, one API token per trainee). A few trainees also sign in through
   POST /api/v1/auth/token to check the route (Argon2 makes 500 such sign-ins take over a minute).
2. `shixun serve --no-worker` with SHIXUN_WEB_PROCESSES=--processes; every trainee starts its attempt.
3. Steady state: every trainee PUTs an answer to a random question of its attempt every --interval
   seconds (+-20 % jitter, first save at a random offset), with seq = its own counter for that question + 1
   and a response of the question's shape. One keep-alive HTTP/1.1 connection per trainee.
4. Ramp: the same with shorter intervals, one round each, until a round has p99 > 200 ms or errors (when
   the steady state itself misses that: longer intervals, --ramp-down, until one holds; then "capacity"
   rounds at the --ramp intervals until the achieved rate falls below 90 % of the offered one or errors
   appear, for the highest rate served whatever the latency). A trainee waits for its save's answer
   before the next one (as the attempt page does), so at short intervals the load becomes "--trainees
   saves in flight" and the achieved rate falls below the offered.
5. Submit burst: every trainee submits within --burst seconds.
6. Lost answers: for every (attempt, question) the last save acknowledged with 200 must come back from
   GET /api/v1/attempts/{id} with that response and seq. Must be 0.

The load generator is one asyncio process (uvloop, plain HTTP/1.1 on asyncio streams with the request
heads built from bytes: about a fifth of the CPU per request that httpx took) on the same machine: it
shares the cores with the server and the database, its own CPU is printed per round ("bench CPU"), and
its latencies include its own scheduling delays.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.http1 import Connection, run_async  # noqa: E402

PY = sys.executable
P99_TARGET = 0.200
RATE_TARGET = 1000.0
TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------
# Server and database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def throwaway_postgres(base: str) -> Iterator[str]:
    """A new database on the server of `base`, dropped afterwards."""
    from app.core.db import throwaway_database

    with throwaway_database(base, "shixun_bench") as url:
        yield url


def server_env(data_dir: str, database_url: str | None, processes: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIXUN_")}
    env.update(SHIXUN_DATA_DIR=data_dir, SHIXUN_LOG_LEVEL="WARNING", SHIXUN_WEB_PROCESSES=str(processes),
               SHIXUN_LOGIN_MAX_FAILURES="1000", SHIXUN_API_TOKEN_MINUTES="600")
    if database_url:
        env["SHIXUN_DATABASE_URL"] = database_url
    return env


def prepare(env: dict[str, str], trainees: int, questions: int) -> dict[str, Any]:
    subprocess.run([PY, "-m", "app.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    done = subprocess.run([PY, "-m", "bench.exams_setup", "--trainees", str(trainees), "--questions", str(questions)],
                          cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen([PY, "-m", "app.cli", "serve", "--no-worker", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code < 500:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not come up")


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its descendants (the uvicorn workers), from /proc."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICKS
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += tree_cpu(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


# ---------------------------------------------------------------------------------------------
# Trainees


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # acknowledged (200) requests only
    errors: Counter[str] = field(default_factory=Counter)  # status code or exception name
    retries: int = 0  # requests sent again after the server closed an idle keep-alive connection

    def ok(self) -> int:
        return len(self.latencies)


@dataclass
class Trainee:
    username: str
    client: Connection
    attempt_id: str = ""
    questions: list[dict[str, Any]] = field(default_factory=list)
    seq: dict[str, int] = field(default_factory=dict)  # last seq sent per question
    acked: dict[str, tuple[int, Any]] = field(default_factory=dict)  # last save acknowledged with 200
    unacked: dict[str, dict[int, Any]] = field(default_factory=dict)  # saves that got no 200 (error, timeout)


TIMEOUT = 30.0  # set from --timeout


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def send(t: Trainee, stats: Stats, method: str, url: str, body: Any = None) -> tuple[int, bytes] | None:
    """One request; a request on a connection the server had just closed is sent again once (the save
    carries its seq, so a repeat is idempotent; start and submit are idempotent too). Latency counts from
    the first send."""
    started = time.perf_counter()
    data = None if body is None else json.dumps(body).encode()
    for attempt in range(2):
        try:
            async with asyncio.timeout(TIMEOUT):
                status, payload = await t.client.request(method, url, data)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            t.client.close()
            if attempt == 0:
                stats.retries += 1
                continue
            stats.errors[type(exc).__name__] += 1
            return None
        except TimeoutError:
            t.client.close()  # its answer may still come: never read it as the next request's
            stats.errors["timeout"] += 1
            return None
        except OSError as exc:
            t.client.close()
            stats.errors[type(exc).__name__] += 1
            return None
        if status in (200, 201):
            stats.latencies.append(time.perf_counter() - started)
        else:
            stats.errors[str(status)] += 1
        return status, payload
    return None


def answer_for(question: dict[str, Any], rng: random.Random) -> Any:
    options = [o["id"] for o in question.get("options") or []]
    if question["type"] == "single_choice":
        return rng.choice(options)
    if question["type"] == "multiple_choice":
        return sorted(rng.sample(options, rng.randint(1, len(options))))
    if question["type"] == "true_false":
        return rng.random() < 0.5
    raise SystemExit(f"the bench does not answer {question['type']} questions")


async def save_one(t: Trainee, stats: Stats, rng: random.Random) -> None:
    question = rng.choice(t.questions)
    key = question["id"]
    seq = t.seq.get(key, 0) + 1
    t.seq[key] = seq
    response = answer_for(question, rng)
    result = await send(t, stats, "PUT", f"/api/v1/attempts/{t.attempt_id}/answers/{key}", {"response": response, "seq": seq})
    if result is not None and result[0] == 200:
        t.acked[key] = (seq, response)
    else:
        t.unacked.setdefault(key, {})[seq] = response


async def autosave(t: Trainee, stats: Stats, interval: float, until: float, rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(0, interval))
    while time.perf_counter() < until:
        started = time.perf_counter()
        await save_one(t, stats, rng)
        pause = interval * rng.uniform(0.8, 1.2) - (time.perf_counter() - started)
        await asyncio.sleep(max(0.0, min(pause, until - time.perf_counter())))


async def start_attempt(t: Trainee, stats: Stats, exam_id: int) -> None:
    response = await send(t, stats, "POST", f"/api/v1/exams/{exam_id}/attempts")
    if response is None or response[0] not in (200, 201):
        raise SystemExit(f"{t.username} could not start the exam: {response[0] if response else stats.errors}")
    body = json.loads(response[1])
    t.attempt_id, t.questions = body["id"], body["questions"]


async def submit(t: Trainee, stats: Stats, within: float, rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(0, within))
    await send(t, stats, "POST", f"/api/v1/attempts/{t.attempt_id}/submit")


@dataclass
class Check:
    acknowledged: int = 0
    lost: int = 0
    newer_unacknowledged: int = 0  # the database holds a later save whose answer the client never got
    unread: int = 0  # GET /api/v1/attempts/{id} failed: not checked
    not_finished: int = 0  # read back after the burst, still open
    examples: list[str] = field(default_factory=list)


async def verify(t: Trainee, stats: Stats, gate: asyncio.Semaphore, check: Check) -> None:
    async with gate:
        response = await send(t, stats, "GET", f"/api/v1/attempts/{t.attempt_id}")
    check.acknowledged += len(t.acked)
    if response is None or response[0] != 200:
        check.unread += len(t.acked)
        return
    body = json.loads(response[1])
    check.not_finished += body["status"] != "finished"
    answers, seqs = body["answers"], body["seqs"]
    for key, (seq, sent) in t.acked.items():
        stored_seq = seqs.get(key)
        if stored_seq == seq and answers.get(key) == sent:
            continue
        if stored_seq is not None and stored_seq > seq and t.unacked.get(key, {}).get(stored_seq, object()) == answers.get(key):
            check.newer_unacknowledged += 1
            continue
        check.lost += 1
        if len(check.examples) < 5:
            check.examples.append(f"attempt {t.attempt_id} question {key}: acknowledged seq {seq} {sent!r}, "
                                  f"stored seq {stored_seq} {answers.get(key)!r}")


# ---------------------------------------------------------------------------------------------
# Figures


def pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def errors_text(errors: Counter[str]) -> str:
    return ", ".join(f"{k}×{n}" for k, n in sorted(errors.items())) or "none"


@dataclass
class Round:
    name: str
    interval: float
    seconds: float
    stats: Stats
    server_cpu: float
    client_cpu: float

    @property
    def rate(self) -> float:
        return self.stats.ok() / self.seconds

    @property
    def p99(self) -> float:
        return pct(self.stats.latencies, 99)

    @property
    def sustained(self) -> bool:
        return not self.stats.errors and self.stats.ok() > 0 and self.p99 <= P99_TARGET

    def line(self, trainees: int) -> str:
        s = self.stats
        return (f"{self.name:12} {self.interval:6.2f} s {trainees / self.interval:9.0f} {self.rate:9.1f} "
                f"{pct(s.latencies, 50) * 1000:8.1f} {self.p99 * 1000:8.1f} {s.ok():8d}  {errors_text(s.errors):14} "
                f"{s.retries:7d} {self.server_cpu / self.seconds * 100:7.0f} % {self.client_cpu / self.seconds * 100:7.0f} %")


async def run_round(name: str, trainees: list[Trainee], interval: float, seconds: float, server_pid: int,
                    rng: random.Random) -> Round:
    stats = Stats()
    cpu0, own0 = tree_cpu(server_pid), time.process_time()
    began = time.perf_counter()
    until = began + seconds
    await asyncio.gather(*(autosave(t, stats, interval, until, random.Random(rng.random())) for t in trainees))
    elapsed = max(seconds, time.perf_counter() - began)
    return Round(name, interval, elapsed, stats, tree_cpu(server_pid) - cpu0, time.process_time() - own0)


async def timed(label: str, jobs: list[Awaitable[Any]], stats: Stats) -> list[Any]:
    began = time.perf_counter()
    results = await asyncio.gather(*jobs)
    print(f"{label}: {len(jobs)} in {time.perf_counter() - began:.1f} s, p50 {pct(stats.latencies, 50) * 1000:.0f} ms, "
          f"p99 {pct(stats.latencies, 99) * 1000:.0f} ms, errors {errors_text(stats.errors)}")
    return list(results)


async def bench(args: argparse.Namespace, data: dict[str, Any], base: str, server_pid: int) -> bool:
    global TIMEOUT
    TIMEOUT = args.timeout
    rng = random.Random(args.seed)
    host, port = base.removeprefix("http://").split(":")
    trainees = [Trainee(username, Connection(host, int(port), bearer(token))) for username, token in data["users"]]
    try:
        signin = Stats()
        for t in trainees[:args.http_sign_ins]:
            began = time.perf_counter()
            status, payload = await t.client.request("POST", "/api/v1/auth/token",
                                                     urlencode({"username": t.username, "password": "bench-exam-2026"}).encode(),
                                                     b"application/x-www-form-urlencoded")
            signin.latencies.append(time.perf_counter() - began)
            if status != 200:
                signin.errors[str(status)] += 1
            else:
                t.client.set_headers(bearer(json.loads(payload)["access_token"]))
        if args.http_sign_ins:
            print(f"sign-in through POST /api/v1/auth/token ({len(signin.latencies)} trainees, one after the other): "
                  f"p50 {pct(signin.latencies, 50) * 1000:.0f} ms, errors {errors_text(signin.errors)}")
        starts = Stats()
        await timed("exam start, all trainees at once", [start_attempt(t, starts, data["exam_id"]) for t in trainees], starts)
        print()
        print(f"{'round':12} {'interval':>8} {'offered/s':>9} {'saves/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'saves':>8}  "
              f"{'errors':14} {'retries':>7} {'server CPU':>9} {'bench CPU':>9}")
        rounds = [await run_round(f"steady {args.seconds:.0f} s", trainees, args.interval, args.seconds, server_pid, rng)]
        print(rounds[0].line(len(trainees)), flush=True)
        # Up while the previous round held; when the steady state itself missed, down to find what holds.
        for interval in args.ramp if rounds[0].sustained else args.ramp_down:
            rounds.append(await run_round(f"ramp {args.ramp_seconds:.0f} s", trainees, interval, args.ramp_seconds, server_pid, rng))
            print(rounds[-1].line(len(trainees)), flush=True)
            if rounds[-1].sustained != rounds[0].sustained:
                break
        if not rounds[0].sustained:
            # The throughput ceiling whatever the latency: up until the server no longer keeps up.
            for interval in args.ramp:
                rounds.append(await run_round(f"capacity {args.ramp_seconds:.0f} s", trainees, interval, args.ramp_seconds,
                                              server_pid, rng))
                print(rounds[-1].line(len(trainees)), flush=True)
                if rounds[-1].stats.errors or rounds[-1].rate < 0.9 * len(trainees) / interval:
                    break
        print("(CPU: % of one core over the round; server = the uvicorn process tree"
              + (", the PostgreSQL server's own CPU is not included" if args.db == "postgres" else "") + ")")
        print()

        burst = Stats()
        await timed(f"submit burst within {args.burst:.0f} s", [submit(t, burst, args.burst, rng) for t in trainees], burst)
        check, reads = Check(), Stats()
        gate = asyncio.Semaphore(32)
        await asyncio.gather(*(verify(t, reads, gate, check) for t in trainees))
        print(f"attempts still open when read back after the burst: {check.not_finished}")
        print(f"lost answers: {check.lost} of {check.acknowledged} acknowledged (attempt, question) answers"
              + (f"; read errors {errors_text(reads.errors)}" if reads.errors else "")
              + (f"; {check.newer_unacknowledged} hold a later save the client got no answer for" if check.newer_unacknowledged else ""))
        for example in check.examples:
            print("  ", example)

        steady = rounds[0]
        best = max((r for r in rounds if r.sustained), key=lambda r: r.rate, default=None)
        all_errors = sum((r.stats.errors for r in rounds), Counter[str]())
        print()
        print(f"save latency at {len(trainees)} trainees every {args.interval:g} s: p50 {pct(steady.stats.latencies, 50) * 1000:.1f} ms, "
              f"p99 {steady.p99 * 1000:.1f} ms (target p99 <= {P99_TARGET * 1000:.0f} ms: {'met' if steady.sustained else 'NOT met'})")
        print(f"save errors over all rounds: {errors_text(all_errors)}; submit burst errors: {errors_text(burst.errors)}")
        served = max(rounds, key=lambda r: r.rate)
        print(f"highest rate served (any latency): {served.rate:.0f} saves/s ({served.name}, interval {served.interval:g} s, "
              f"p50 {pct(served.stats.latencies, 50) * 1000:.0f} ms, p99 {served.p99 * 1000:.0f} ms, errors {errors_text(served.stats.errors)})")
        if best is None:
            print("maximum sustainable rate: none of the rounds had p99 <= 200 ms without errors")
        else:
            capped = " (the last round offered was met too: raise --ramp)" if best is rounds[-1] and len(rounds) == 1 + len(args.ramp) else ""
            print(f"maximum sustainable rate: {best.rate:.0f} saves/s (interval {best.interval:g} s, p99 {best.p99 * 1000:.0f} ms, "
                  f"no errors){capped}; target >= {RATE_TARGET:.0f} saves/s: {'met' if best.rate >= RATE_TARGET else 'NOT met'}")
        return check.lost == 0 and check.unread == 0 and check.not_finished == 0
    finally:
        for t in trainees:
            t.client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="server for the throwaway database (only its name is used, nothing in it is touched)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="web processes (SHIXUN_WEB_PROCESSES; default one per core); with SQLite their writers "
                             "take turns on the database's writer lock")
    parser.add_argument("--trainees", type=int, default=500)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between a trainee's saves in the steady state")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the steady state")
    parser.add_argument("--ramp", type=lambda s: [float(x) for x in s.split(",") if x], default=[2.5, 1.25, 0.6, 0.45, 0.3, 0.15],
                        help="comma-separated intervals of the ramp rounds, each run while the previous one held")
    parser.add_argument("--ramp-down", type=lambda s: [float(x) for x in s.split(",") if x], default=[10.0, 20.0],
                        help="longer intervals tried, in order, when the steady state misses p99 <= 200 ms or has errors")
    parser.add_argument("--ramp-seconds", type=float, default=20.0)
    parser.add_argument("--burst", type=float, default=1.0, help="all trainees submit within this many seconds")
    parser.add_argument("--http-sign-ins", type=int, default=5, help="trainees signing in through POST /api/v1/auth/token")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--server-log", help="keep the server's output in this file (default: in the temp dir, summarised)")
    args = parser.parse_args()

    print(f"Exam autosave: {args.db}, {args.trainees} trainees, {args.questions} questions, {args.processes} web process(es), "
          f"no worker; {os.cpu_count()} cores shared by the server, the database and this load generator "
          "(one asyncio process, plain HTTP/1.1 on asyncio streams, one keep-alive connection per trainee); load average now "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    with (tempfile.TemporaryDirectory(prefix="shixun-bench-") as tmp,
          throwaway_postgres(args.postgres_url) if args.db == "postgres" else nullcontext_str() as database_url):
        env = server_env(tmp, database_url, args.processes)
        began = time.perf_counter()
        data = prepare(env, args.trainees, args.questions)
        print(f"setup (migrate, {args.trainees} trainees, bank, paper, exam, tokens): {time.perf_counter() - began:.1f} s")
        port = free_port()
        log = Path(args.server_log or f"{tmp}/server.log")
        server = start_server(env, port, log)
        try:
            ok = bool(run_async(bench(args, data, f"http://127.0.0.1:{port}", server.pid)))
        finally:
            if server.poll() is not None:
                print(f"the server exited during the run with status {server.returncode}")
            server.terminate()
            server.wait(timeout=30)
            problems = server_problems(log)
            if problems:
                print("server log (exceptions, by count):")
                for line, n in problems.most_common(8):
                    print(f"  {n:5d}× {line[:200]}")
    load = os.getloadavg()
    print("load average at the end: " + " ".join(f"{x:.1f}" for x in load)
          + (" (above the core count: other work on the machine competed for the CPU, the figures are pessimistic)"
             if load[1] > (os.cpu_count() or 1) else ""))
    raise SystemExit(0 if ok else 1)


def server_problems(log: Path) -> Counter[str]:
    """The exception lines of the server's log (the last line of each traceback), counted."""
    pattern = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")
    return Counter(m.group(0) for line in log.read_text(errors="replace").splitlines() if (m := pattern.match(line)))


@contextmanager
def nullcontext_str() -> Iterator[str | None]:
    yield None


if __name__ == "__main__":
    main()
