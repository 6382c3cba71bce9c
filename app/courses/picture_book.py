"""Picture-book materials (图册): page references, the pictures they show, and the editor's fields.

A page's `image` is a reference (materials.py documents the shape):
    "demo-meeting-1"   a drawing shipped in static/img/courses (the demo courses)
    "<asset id>"       an uploaded image (JPEG/PNG/WebP) → its WebP renditions w320, w640, … (srcset)
    "<asset id>#p3"    page 3 (1-based) of an uploaded PDF → the page image pages/p0003.webp

Resolving references costs one query however many pages are asked for (the assets with the
renditions they need); the lesson player asks for the one page it shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.config import get_settings
from app.media import permissions as media_permissions
from app.media.models import AssetKind, AssetStatus, MediaAsset, MediaRendition, RenditionKind

DEMO_PREFIX = "demo-"
REF = re.compile(r"^(?P<asset>[A-Za-z0-9_.:-]{1,56})(?:#p(?P<page>[1-9][0-9]{0,3}))?$")
PDF_KINDS = (AssetKind.pdf.value, AssetKind.picture_book.value)
UPLOAD_ACCEPT = "image,pdf"


def parse_ref(ref: str) -> tuple[str, int | None]:
    """(asset id, 1-based PDF page or None); ValueError for a malformed reference."""
    match = REF.match(ref or "")
    if match is None:
        raise ValueError("not a page reference")
    page = match.group("page")
    return match.group("asset"), int(page) if page else None


def asset_id_of(ref: str) -> str:
    """The media asset a page shows ("" for demo drawings and malformed references)."""
    if ref.startswith(DEMO_PREFIX):
        return ""
    try:
        return parse_ref(ref)[0]
    except ValueError:
        return ""


def page_label(page: int | None) -> str:
    return f"p{(page or 1):04d}"


@dataclass
class Picture:
    """What a page shows: `status` is "demo", "ready", "processing" (queued or being made) or "missing"."""

    ref: str
    status: str
    src: str = ""  # relative to the asset's files URL for uploads, to /static/ for demo drawings
    srcset: list[tuple[str, int]] = field(default_factory=list)  # (path, width), narrowest first
    width: int | None = None
    height: int | None = None
    asset_id: str = ""
    asset_title: str = ""
    page: int | None = None

    @property
    def thumb(self) -> str:
        """The narrowest picture (the editor's and the preview's thumbnails)."""
        return self.srcset[0][0] if self.srcset else self.src


def _demo(ref: str) -> Picture:
    return Picture(ref, "demo", src=f"img/courses/{ref}.svg", width=800, height=500)


def pictures(session: Session, refs: Iterable[str]) -> dict[str, Picture]:
    """The picture of every reference (one query for the uploaded ones)."""
    refs = list(dict.fromkeys(refs))
    out: dict[str, Picture] = {}
    wanted: dict[str, str] = {}
    for ref in refs:
        if ref.startswith(DEMO_PREFIX):
            out[ref] = _demo(ref)
        elif asset_id := asset_id_of(ref):
            wanted[ref] = asset_id
        else:
            out[ref] = Picture(ref, "missing")
    if not wanted:
        return out
    labels = {page_label(parse_ref(ref)[1]) for ref in wanted}
    rows = session.exec(
        select(MediaAsset, MediaRendition)
        .outerjoin(MediaRendition, sa.and_(col(MediaRendition.asset_id) == MediaAsset.id, sa.or_(
            col(MediaRendition.kind) == RenditionKind.image.value,
            sa.and_(col(MediaRendition.kind) == RenditionKind.page.value, col(MediaRendition.label).in_(labels)))))
        .where(col(MediaAsset.id).in_(set(wanted.values())))
        .order_by(col(MediaRendition.position))).all()
    assets: dict[str, MediaAsset] = {}
    renditions: dict[str, list[MediaRendition]] = {}
    for asset, rendition in rows:
        assets[asset.id] = asset
        if rendition is not None:
            renditions.setdefault(asset.id, []).append(rendition)
    for ref, asset_id in wanted.items():
        out[ref] = _picture(ref, assets.get(asset_id), renditions.get(asset_id, []))
    return out


def _picture(ref: str, asset: MediaAsset | None, renditions: Sequence[MediaRendition]) -> Picture:
    if asset is None:
        return Picture(ref, "missing")
    page = parse_ref(ref)[1]
    base = Picture(ref, "processing", asset_id=asset.id, asset_title=asset.title, page=page)
    if asset.status != AssetStatus.ready:
        return base
    if asset.kind == AssetKind.image.value and page is None:
        images = sorted((r for r in renditions if r.kind == RenditionKind.image.value), key=lambda r: r.width or 0)
        if images:
            widest = images[-1]
            base.status, base.src, base.width, base.height = "ready", widest.path, widest.width, widest.height
            base.srcset = [(r.path, r.width or 0) for r in images]
            return base
    elif asset.kind in PDF_KINDS:
        label = page_label(page)
        found = next((r for r in renditions if r.kind == RenditionKind.page.value and r.label == label), None)
        if found is not None:
            base.status, base.src, base.width, base.height = "ready", found.path, found.width, found.height
            base.srcset = [(found.path, found.width or 0)]
            return base
    base.status = "missing"
    return base


def picture(session: Session, ref: str) -> Picture:
    return pictures(session, [ref])[ref]


# ---------------------------------------------------------------------------------------------
# The material editor


@dataclass
class EditorPage:
    ref: str
    caption: str
    picture: Picture


def refs_of_asset(asset: MediaAsset) -> list[str]:
    """The pages an uploaded asset adds to a book: an image is one page, a PDF one per page."""
    if asset.kind in PDF_KINDS:
        return [f"{asset.id}#p{n}" for n in range(1, (asset.page_count or 1) + 1)]
    return [asset.id]


def editor_pages(session: Session, pages: Sequence[dict[str, Any]]) -> list[EditorPage]:
    found = pictures(session, [str(p.get("image", "")) for p in pages])
    return [EditorPage(str(p.get("image", "")), str(p.get("caption", "")), found[str(p.get("image", ""))]) for p in pages]


def processing_assets(pages: Sequence[EditorPage]) -> list[str]:
    """The uploaded assets of the book that are not ready yet (each gets one progress fragment)."""
    return list(dict.fromkeys(p.picture.asset_id for p in pages if p.picture.status == "processing"))


def form_config(form: dict[str, Any], lines: Sequence[str]) -> dict[str, Any]:
    """A picture book's config from the editor: the page rows (`page_image`/`page_caption`, in order),
    then the pages typed as "reference | caption" lines."""
    images, captions = form.get("page_image") or [], form.get("page_caption") or []
    pages = [{"image": str(image).strip(), "caption": str(captions[i]).strip() if i < len(captions) else ""}
             for i, image in enumerate(images) if str(image).strip()]
    for line in lines:
        image, _sep, caption = line.partition("|")
        pages.append({"image": image.strip(), "caption": caption.strip()})
    return {"pages": pages}


def editor_context(session: Session, user: User, kind: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """What templates/courses/authoring/_picture_book_pages.html needs (nothing for other kinds)."""
    if kind != "picture_book":
        return {}
    pages = editor_pages(session, (config or {}).get("pages", []))
    settings = get_settings()
    return {"book_pages": pages, "book_processing": processing_assets(pages), "can_upload": media_permissions.can_upload(user),
            "max_bytes": settings.media_max_upload_bytes, "chunk_bytes": settings.media_upload_chunk_bytes}
