"""A lean HTTP/1.1 client for the benches' load generators.

The load generator shares the machine's cores with the server it measures, so it must spend as little
CPU per request as it can, or it measures itself: httpx took about five times what this takes, and on two
cores it saturated its own core before the server did. One keep-alive connection on asyncio streams with
the request head built from bytes; enough HTTP for our own servers: Content-Length bodies, no chunked
responses, no redirects, no cookie jar (a signed-in client sends the cookie it signed in with).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class Connection:
    IDLE = 4.0  # uvicorn closes a connection idle for 5 s: open a new one before that

    def __init__(self, host: str, port: int, headers: Mapping[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0
        self.set_headers(headers or {})

    def set_headers(self, headers: Mapping[str, str]) -> None:
        """The headers sent with every request (besides Host and Content-Length)."""
        self.head_tail = "".join(f"{name}: {value}\r\n" for name, value in {"Host": "bench", **headers}.items()).encode()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes | None = None,
                      content_type: bytes = b"application/json") -> tuple[int, bytes]:
        if self.writer is None or time.perf_counter() - self.used > self.IDLE:
            self.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self.head_tail
        if body is None:
            self.writer.write(head + b"Content-Length: 0\r\n\r\n" if method != "GET" else head + b"\r\n")
        else:
            self.writer.write(b"%sContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (head, content_type, len(body), body))
        lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status, length, keep = int(lines[0].split(b" ", 2)[1]), 0, True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep = False
        payload = await self.reader.readexactly(length) if length else b""
        self.used = time.perf_counter()
        if not keep:
            self.close()
        return status, payload


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one by default), from /proc where there is one."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is installed (it comes with uvicorn[standard]): a cheaper loop for the client."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)
