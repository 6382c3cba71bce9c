"""Sending media bytes after authorization: Range (206/416), ETag/Last-Modified, 304, and hardening
headers on user-uploaded content. In production nginx sends the bytes (X-Accel-Redirect to an internal
location; deploy/nginx/shixun.conf) and the app only decides who may have them.

Starlette's FileResponse already implements Range, If-Range and 416 with `Content-Range: bytes */size`;
we add If-None-Match / If-Modified-Since → 304 and the headers.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from app.core.config import get_settings

CACHE_PRIVATE = "private, max-age=3600"
# The original upload is someone's file: never let a browser run it as a page or guess its type.
HARDENING = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox", "Cross-Origin-Resource-Policy": "same-origin"}
MIME_BY_SUFFIX = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".mp4": "video/mp4", ".jpg": "image/jpeg",
                  ".webp": "image/webp", ".json": "application/json"}


def _not_modified(request: Request, etag: str, mtime: float) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:
        return any(tag.strip().removeprefix("W/") == etag for tag in inm.split(",")) or inm.strip() == "*"
    ims = request.headers.get("if-modified-since")
    if ims:
        try:
            return int(mtime) <= int(parsedate_to_datetime(ims).timestamp())
        except (TypeError, ValueError):
            return False
    return False


def send_file(request: Request, path: Path, *, media_type: str, relative: str, etag: str | None = None,
              download_name: str | None = None) -> Response:
    """`relative` is the path under the media dir (used for X-Accel-Redirect)."""
    stat = path.stat()
    tag = f'"{etag}"' if etag else f'"{int(stat.st_mtime)}-{stat.st_size}"'
    headers = {**HARDENING, "Cache-Control": CACHE_PRIVATE, "ETag": tag}
    if download_name:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(download_name)}"
    if _not_modified(request, tag, stat.st_mtime):
        return Response(status_code=304, headers=headers)
    prefix = get_settings().media_accel_redirect_prefix
    if prefix:
        # nginx serves the bytes (with Range) from its internal location; headers set here pass through.
        headers["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(relative)
        return Response(status_code=200, media_type=media_type, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers, stat_result=stat)


def guess_type(path: str) -> str:
    return MIME_BY_SUFFIX.get(Path(path).suffix.lower(), "application/octet-stream")
