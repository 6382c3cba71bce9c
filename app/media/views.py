"""Media pages (authoring: upload with a progress bar, processing state, preview) and the authorized
file routes that serve originals and renditions (HLS playlists and segments included)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from app.accounts.access import CurrentUser, OptionalUser, allow, signed_in
from app.core.config import get_settings
from app.core.errors import NotFound
from app.core.i18n import gettext as _
from app.core.pagination import page_numbers
from app.core.routing import DbSession, make_router
from app.core.templating import flash, redirect, render
from app.core.types import Line, Offset
from app.media import permissions, service
from app.media.models import AssetKind, AssetStatus, MediaAsset, RenditionKind
from app.media.serving import guess_type, send_file
from app.media.storage import MediaStore

router = make_router(prefix="/media", tags=["media pages"], include_in_schema=False)
MANAGERS = permissions.MANAGER_ROLES
SAFE_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")  # no leading dot in any segment


def uploader_context() -> dict[str, object]:
    settings = get_settings()
    return {"max_bytes": settings.media_max_upload_bytes, "chunk_bytes": settings.media_upload_chunk_bytes}


def detail_context(db: DbSession, asset: MediaAsset) -> dict[str, object]:
    state = service.asset_state(db, asset)
    renditions = service.renditions_of(db, asset) if state.status == AssetStatus.ready else []
    by_kind: dict[str, list[object]] = {}
    for r in renditions:
        by_kind.setdefault(r.kind, []).append(r)
    return {"asset": asset, "state": state, "renditions": renditions, "by_kind": by_kind, "kinds": RenditionKind,
            "asset_kinds": AssetKind}


@router.get("", name="media:list", dependencies=[allow(*MANAGERS)])
def media_list(request: Request, db: DbSession, user: CurrentUser, offset: Annotated[Offset, Query(ge=0)] = 0) -> Response:
    limit = 30
    rows, total = service.list_assets(db, user, mine_only=True, limit=limit, offset=offset)
    items = [(a, service.asset_state(db, a)) for a in rows]
    return render(request, "media/list.html", {"items": items, "total": total, "pager": page_numbers(total, limit, offset),
                                               **uploader_context()}, block="assets")


@router.get("/uploader", name="media:uploader", dependencies=[allow(*MANAGERS)])
def uploader(request: Request, accept: Line = "video,image,pdf", kind: Line = "") -> Response:
    """The upload widget as a fragment, for embedding (e.g. the course editor): hx-get it into a page that
    loads static/js/media-upload.js; it fires `media:uploaded` with the asset id when the upload is accepted."""
    return render(request, "media/_uploader.html", {**uploader_context(), "accept": accept, "kind": kind})


@router.get("/{asset_id}", name="media:detail", dependencies=[allow(*MANAGERS)])
def detail(request: Request, db: DbSession, user: CurrentUser, asset_id: Line) -> Response:
    asset = service.get_visible(db, user, asset_id)
    return render(request, "media/detail.html", {**detail_context(db, asset), "can_change": service.can_change(db, user, asset)})


@router.get("/{asset_id}/status", name="media:status", dependencies=[allow(*MANAGERS)])
def status(request: Request, db: DbSession, user: CurrentUser, asset_id: Line) -> Response:
    """The self-replacing progress fragment: it polls itself until the asset is ready or failed."""
    asset = service.get_visible(db, user, asset_id)
    return render(request, "media/_status.html", {**detail_context(db, asset), "can_change": service.can_change(db, user, asset)})


@router.post("/{asset_id}/retry", name="media:retry", dependencies=[allow(*MANAGERS)])
def retry(request: Request, db: DbSession, user: CurrentUser, asset_id: Line) -> Response:
    service.retry(db, user, service.get_visible(db, user, asset_id))
    flash(request, _("Processing will be tried again."))
    return redirect(request, str(request.url_for("media:detail", asset_id=asset_id)))


@router.post("/{asset_id}/cancel", name="media:cancel", dependencies=[allow(*MANAGERS)])
def cancel(request: Request, db: DbSession, user: CurrentUser, asset_id: Line) -> Response:
    service.cancel(db, user, service.get_visible(db, user, asset_id))
    flash(request, _("Processing was cancelled."))
    return redirect(request, str(request.url_for("media:detail", asset_id=asset_id)))


@router.get("/{asset_id}/original", name="media:original", dependencies=[signed_in()])
def original(request: Request, db: DbSession, user: OptionalUser, asset_id: Line) -> Response:
    """The uploaded file itself, as an attachment. Images are only served as their stripped renditions
    (the original may carry GPS coordinates in its EXIF)."""
    asset = service.get_visible(db, user, asset_id)
    if asset.kind == AssetKind.image:
        raise NotFound()
    store = MediaStore.default()
    path = store.original_path(asset.sha256)
    if not path.is_file():
        raise NotFound()
    return send_file(request, path, media_type=asset.mime_type, relative=store.relative(path), etag=asset.sha256,
                     download_name=asset.original_name or asset.title)


@router.get("/{asset_id}/files/{path:path}", name="media:file", dependencies=[signed_in()])
def rendition_file(request: Request, db: DbSession, user: OptionalUser, asset_id: Line, path: Line) -> Response:
    """A rendition: HLS playlist or segment, MP4, poster, thumbnails, WebP image or page."""
    asset = service.get_visible(db, user, asset_id)
    if not SAFE_PATH.match(path) or ".." in path:
        raise NotFound()
    store = MediaStore.default()
    file = store.resolve_derived(asset.sha256, path)
    if file is None or file.name == "manifest.json":
        raise NotFound()
    return send_file(request, file, media_type=guess_type(path), relative=store.relative(file))
