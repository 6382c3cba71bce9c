"""Material configuration: one Pydantic model per form, a discriminated union on `kind`.

Every config is stored as JSON in `courses_material.config` and carries its shape version `v`
(1 today). A later shape adds a model with `v: Literal[2]` and an upgrade step in `parse_config`;
stored configs are never rewritten in place (published snapshots keep the shape they were frozen in).

Shapes (version 1):

text               {"kind": "text", "v": 1, "html": "<p>…</p>", "clause_ids": [12, 13]}
                   Rich text, sanitised with nh3 on the way in (scripts, event handlers, styles and
                   unknown tags are removed). `clause_ids` are standard clauses shown as part of the
                   text; each one is also recorded as a citation. At least one of the two is needed.
video              {"kind": "video", "v": 1, "asset_id": "…", "duration_s": 600, "completion_percent": 90,
                    "no_seek": false, "subtitles": [{"lang": "zh-CN", "label": "中文", "vtt": "WEBVTT…"}]}
                   A media asset id (app.media); `duration_s` is informative (the asset's probed
                   length is the one the completion rule uses). Complete when the server has seen
                   `completion_percent` (50–100) of the distinct seconds watched, in wall-clock time
                   consistent with it (app/courses/video.py); `no_seek` keeps the player, and the
                   intervals the server counts, from going past the furthest point watched.
                   `subtitles` (0–3 tracks) are WebVTT text (SubRip is converted when saved).
                   The last three fields were added later with defaults: v1 configs without them
                   still read the same.
picture_book       {"kind": "picture_book", "v": 1, "pages": [{"image": "<page ref>", "caption": "…"}]}
                   Ordered pages (1–200); complete when every page has been seen. A page ref is
                   "<asset id>" for an uploaded image (shown through its WebP renditions),
                   "<asset id>#p3" for page 3 (1-based) of an uploaded PDF (its page image), or
                   "demo-…" for a drawing in static/img/courses. The "#pN" form was added later
                   within v1: older configs (plain ids) read the same (app/courses/picture_book.py).
scene              {"kind": "scene", "v": 1, "name": "…", "location": "…", "photos": ["asset-id"],
                    "equipment": ["…"], "opening_hours": [{"weekdays": [1,2,3,4,5], "opens": "08:30",
                    "closes": "17:00"}], "notes": "…"}
                   A place in the training base. Weekdays are ISO (1 = Monday).
visual_assessment  {"kind": "visual_assessment", "v": 1, "checklist_id": "…", "instructions": "…"}
                   A reference to a scenario checklist (opaque until scenarios exist); the
                   scenarios layer calls `complete_material` when the assessment is passed.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any, Literal

import nh3
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from app.core.errors import ValidationFailed
from app.core.i18n import gettext as _
from app.courses import subtitles
from app.courses.models import MaterialKind

CONFIG_VERSION = 1

# Tags and attributes an instructor's rich text may keep; everything else is stripped.
ALLOWED_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "s", "sub", "sup", "h2", "h3", "h4", "ul", "ol", "li",
                "blockquote", "table", "thead", "tbody", "tr", "th", "td", "a", "span", "hr", "img"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt"}, "td": {"colspan", "rowspan"},
                      "th": {"colspan", "rowspan"}}
MAX_HTML = 200_000


def sanitize_html(html: str) -> str:
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer").strip()


AssetRef = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
PageRef = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+(#p[1-9][0-9]{0,3})?$")]
ShortText = Annotated[str, Field(max_length=200)]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    v: Literal[1] = 1  # CONFIG_VERSION


class TextConfig(_Config):
    kind: Literal["text"] = "text"
    html: str = Field(default="", max_length=MAX_HTML)
    clause_ids: list[int] = Field(default_factory=list, max_length=50)

    @field_validator("html")
    @classmethod
    def _sanitize(cls, value: str) -> str:
        return sanitize_html(value)

    @model_validator(mode="after")
    def _not_empty(self) -> TextConfig:
        if not self.html and not self.clause_ids:
            raise ValueError("needs text or at least one standard clause")
        if len(set(self.clause_ids)) != len(self.clause_ids):
            raise ValueError("a clause is listed twice")
        return self


class Subtitle(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    lang: str = Field(default="zh-CN", pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    label: str = Field(default="中文", min_length=1, max_length=40)
    vtt: str = Field(min_length=1, max_length=subtitles.MAX_CHARS + 1000)

    @field_validator("vtt")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return subtitles.normalise(value)  # SubtitleError is a ValueError: reported at config.subtitles.N.vtt


class VideoConfig(_Config):
    kind: Literal["video"] = "video"
    asset_id: AssetRef
    duration_s: int | None = Field(default=None, ge=1, le=24 * 3600)
    completion_percent: int = Field(default=90, ge=50, le=100)
    no_seek: bool = False
    subtitles: list[Subtitle] = Field(default_factory=list, max_length=3)


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    image: PageRef  # "<asset id>", "<asset id>#p3" (a PDF's page 3) or "demo-…"
    caption: str = Field(default="", max_length=500)


class PictureBookConfig(_Config):
    kind: Literal["picture_book"] = "picture_book"
    pages: list[Page] = Field(min_length=1, max_length=200)


class OpeningHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(min_length=1, max_length=7)
    opens: time
    closes: time

    @model_validator(mode="after")
    def _order(self) -> OpeningHours:
        if self.opens >= self.closes:
            raise ValueError("opening time must be before closing time")
        return self


class SceneConfig(_Config):
    kind: Literal["scene"] = "scene"
    name: str = Field(min_length=1, max_length=200)
    location: str = Field(min_length=1, max_length=300)
    photos: list[AssetRef] = Field(default_factory=list, max_length=50)
    equipment: list[ShortText] = Field(default_factory=list, max_length=100)
    opening_hours: list[OpeningHours] = Field(default_factory=list, max_length=14)
    notes: str = Field(default="", max_length=2000)


class VisualAssessmentConfig(_Config):
    kind: Literal["visual_assessment"] = "visual_assessment"
    checklist_id: AssetRef
    instructions: str = Field(default="", max_length=2000)


MaterialConfig = Annotated[TextConfig | VideoConfig | PictureBookConfig | SceneConfig | VisualAssessmentConfig,
                           Field(discriminator="kind")]
_adapter: TypeAdapter[MaterialConfig] = TypeAdapter(MaterialConfig)


def parse_config(kind: str, data: dict[str, Any]) -> MaterialConfig:
    """Validate a config for a material of `kind`; ValidationFailed lists every problem with its path."""
    data = {**data, "kind": data.get("kind", kind)}
    if data["kind"] != kind:
        raise ValidationFailed(_("The configuration is for a different kind of material."),
                               errors=[{"loc": ["config", "kind"], "msg": "kind mismatch"}])
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        errors = [{"loc": ["config", *[str(p) for p in err["loc"] if p != kind]], "msg": err["msg"]} for err in exc.errors()]
        detail = "; ".join(f"{'.'.join(e['loc'][1:]) or 'config'}: {e['msg']}" for e in errors)
        raise ValidationFailed(_("The material's configuration is not valid: %(detail)s", detail=detail),
                               errors=errors) from exc


def dump_config(config: MaterialConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")


def page_count(config: dict[str, Any]) -> int:
    return len(config.get("pages", [])) if config.get("kind") == "picture_book" else 0


def asset_ids(kind: str, config: dict[str, Any]) -> set[str]:
    """The media asset ids a material's config shows (a video, the pages of a picture book; "<id>#p3" is
    page 3 of a PDF asset)."""
    if kind == MaterialKind.video.value and config.get("asset_id"):
        return {str(config["asset_id"])}
    if kind == MaterialKind.picture_book.value:
        return {str(page["image"]).split("#", 1)[0] for page in config.get("pages", []) if page.get("image")}
    return set()
