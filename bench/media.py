"""Media benchmarks: prints figures.

    .venv/bin/python bench/media.py [--upload-gb 2] [--seconds 10]

1. probe time (magic bytes + ffprobe + checks) of a generated video
2. transcode CPU time through our runner (run_ffmpeg: progress parsing, reporting) vs the same argv run by
   hand with subprocess.run (target overhead <= 5 %)
3. peak RSS growth of the embedded server (`shixun serve`, SQLite, temp data dir) while a 2 GB body is
   streamed to POST /api/v1/media (target <= 64 MB); the body is generated on the fly, never on disk
4. Range-request throughput of the embedded server on an uploaded original
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_video(path: Path, seconds: int) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds), "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path)],
                   check=True)


def bench_probe(video: Path) -> None:
    from app.media.validation import inspect

    inspect(video)  # warm
    n = 10
    t0 = time.perf_counter()
    for _ in range(n):
        inspect(video)
    print(f"probe: {(time.perf_counter() - t0) / n * 1000:.1f} ms per file (magic bytes + ffprobe JSON + checks)")


def bench_transcode(video: Path, work: Path) -> None:
    from app.media import ffmpeg
    from app.media.processing import run_ffmpeg
    from app.media.validation import inspect

    info = inspect(video)
    results = {}
    for mode in ("by hand", "runner"):
        out = work / mode.replace(" ", "_")
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        plan = ffmpeg.plan_transcode(str(video), str(out), source_height=info.height or 0, has_audio=info.has_audio)
        argv = ffmpeg.transcode_argv("ffmpeg", plan)
        c0, s0, w0 = children_cpu(), self_cpu(), time.perf_counter()
        if mode == "by hand":
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        else:
            run_ffmpeg(argv, duration=info.duration_s or 1, report=lambda p, m: None, lo=0, hi=90)
        results[mode] = (children_cpu() - c0 + self_cpu() - s0, time.perf_counter() - w0)
    hand, ours = results["by hand"], results["runner"]
    print(f"transcode CPU: by hand {hand[0]:.2f} s ({hand[1]:.2f} s wall), runner {ours[0]:.2f} s ({ours[1]:.2f} s wall), "
          f"overhead {(ours[0] - hand[0]) / hand[0] * 100:+.1f} % CPU (target <= 5 %)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def bench_server(video: Path, upload_gb: float) -> None:
    import httpx

    data_dir = Path(tempfile.mkdtemp(prefix="shixun-bench-"))
    env = {**os.environ, "SHIXUN_DATA_DIR": str(data_dir), "SHIXUN_EMBEDDED_WORKER": "false", "SHIXUN_ENV": "development",
           "SHIXUN_LOG_LEVEL": "WARNING", "SHIXUN_MEDIA_MAX_UPLOAD_BYTES": str(int(upload_gb * 1024**3) + 1024**2)}
    env.pop("SHIXUN_DATABASE_URL", None)
    subprocess.run([str(BIN / "shixun"), "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([str(BIN / "shixun"), "create-admin", "--username", "benchadmin", "--password-stdin"], env=env, check=True,
                   input=b"bench-password-123456\n", capture_output=True)
    port = free_port()
    server = subprocess.Popen([str(BIN / "shixun"), "serve", "--port", str(port), "--no-worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = httpx.post(base + "/api/v1/auth/token", data={"username": "benchadmin", "password": "bench-password-123456"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        # warm up (imports, templates, first ffprobe) with the small video, whose original the Range test reads
        with video.open("rb") as fh:
            up = httpx.post(base + "/api/v1/media", headers=headers, files={"file": ("v.mp4", fh, "video/mp4")}, timeout=60)
        asset_id = up.json()["id"]
        pid = server.pid
        # `shixun serve` may fork a worker process for uvicorn; measure the process that listens
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids = [pid, *map(int, children)]
        before = {p: rss_kb(p, "VmRSS") for p in pids}

        total = int(upload_gb * 1024**3)
        block = os.urandom(1024 * 1024)
        boundary = "benchboundary"

        def body():  # type: ignore[no-untyped-def]
            yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
                   "Content-Type: video/mp4\r\n\r\n").encode()
            sent = 0
            while sent < total:
                n = min(len(block), total - sent)
                yield block[:n]
                sent += n
            yield f"\r\n--{boundary}--\r\n".encode()

        t0 = time.perf_counter()
        r = httpx.post(base + "/api/v1/media", headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
                       content=body(), timeout=600)
        elapsed = time.perf_counter() - t0
        peak = {p: rss_kb(p, "VmHWM") for p in pids}
        growth = max((peak[p] - before[p]) for p in pids) / 1024
        print(f"upload {upload_gb:.1f} GB streamed in {elapsed:.1f} s ({total / elapsed / 1024**2:.0f} MB/s), answer {r.status_code} "
              f"(random bytes are refused after the stream, as they must be); peak RSS growth {growth:.1f} MB (target <= 64 MB)")

        size = video.stat().st_size
        chunk = 1024 * 1024
        n, got = 0, 0
        t0 = time.perf_counter()
        with httpx.Client(base_url=base, headers=headers) as client:
            while time.perf_counter() - t0 < 5:
                start = (n * chunk) % max(size - chunk, 1)
                resp = client.get(f"/media/{asset_id}/original", headers={"Range": f"bytes={start}-{start + chunk - 1}"})
                assert resp.status_code == 206, resp.status_code
                got += len(resp.content)
                n += 1
        elapsed = time.perf_counter() - t0
        print(f"Range requests (1 MB each, one connection): {n / elapsed:.0f} req/s, {got / elapsed / 1024**2:.0f} MB/s")
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upload-gb", type=float, default=2.0)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shixun-media-bench-"))
    try:
        video = work / "source.mp4"
        make_video(video, args.seconds)
        print(f"source: {args.seconds} s 1280x720 testsrc2 + sine, {video.stat().st_size / 1024**2:.1f} MB")
        bench_probe(video)
        bench_transcode(video, work)
        bench_server(video, args.upload_gb)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
