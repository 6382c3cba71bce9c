"""Material configuration: each form's shape, bad configs refused with their path, HTML sanitised."""

from __future__ import annotations

import pytest

from app.core.errors import ValidationFailed
from app.courses.materials import SceneConfig, TextConfig, parse_config

GOOD = {
    "text": {"html": "<p>内容</p>"},
    "video": {"asset_id": "asset-1"},
    "picture_book": {"pages": [{"image": "img-1", "caption": "封面"}]},
    "scene": {"name": "会议服务实训室", "location": "实训基地 2 楼", "photos": ["p-1"], "equipment": ["茶具", "桌签"],
              "opening_hours": [{"weekdays": [1, 2, 3, 4, 5], "opens": "08:30", "closes": "17:00"}]},
    "visual_assessment": {"checklist_id": "chk-7", "instructions": "按清单逐项检查"},
}


@pytest.mark.parametrize("kind", list(GOOD))
def test_each_form_validates_and_carries_its_version(kind: str) -> None:
    config = parse_config(kind, GOOD[kind])
    dumped = config.model_dump(mode="json")
    assert dumped["kind"] == kind and dumped["v"] == 1


def test_text_html_is_sanitised() -> None:
    config = parse_config("text", {"html": '<p onclick="x()">好<script>alert(1)</script><a href="javascript:x">链</a>'
                                           '<iframe src="http://e"></iframe><strong>粗</strong></p>'})
    assert isinstance(config, TextConfig)
    assert "script" not in config.html and "onclick" not in config.html and "iframe" not in config.html
    assert "javascript" not in config.html and "<strong>粗</strong>" in config.html


def test_text_may_be_clause_references_only() -> None:
    assert parse_config("text", {"clause_ids": [3, 4]}).clause_ids == [3, 4]  # type: ignore[union-attr]


@pytest.mark.parametrize(("kind", "config", "where"), [
    ("text", {}, "config"),
    ("text", {"html": "<script>x</script>"}, "config"),  # nothing left after sanitising
    ("text", {"clause_ids": [1, 1]}, "config"),
    ("video", {}, "asset_id"),
    ("video", {"asset_id": "bad id with spaces"}, "asset_id"),
    ("video", {"asset_id": "a", "duration_s": 0}, "duration_s"),
    ("picture_book", {"pages": []}, "pages"),
    ("picture_book", {"pages": [{"caption": "无图"}]}, "pages.0.image"),
    ("scene", {"name": "室", "location": "楼", "opening_hours": [{"weekdays": [8], "opens": "08:00", "closes": "09:00"}]},
     "opening_hours.0.weekdays.0"),
    ("scene", {"name": "室", "location": "楼", "opening_hours": [{"weekdays": [1], "opens": "18:00", "closes": "09:00"}]},
     "opening_hours.0"),
    ("visual_assessment", {"checklist_id": ""}, "checklist_id"),
    ("video", {"asset_id": "a", "surprise": 1}, "surprise"),
    ("video", {"asset_id": "a", "v": 2}, "v"),
])
def test_bad_configs_are_refused_with_their_path(kind: str, config: dict, where: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationFailed) as caught:
        parse_config(kind, config)
    locs = [".".join(e["loc"][1:]) or "config" for e in caught.value.errors]
    assert any(loc.startswith(where) or where == "config" for loc in locs), locs
    assert caught.value.detail


def test_kind_mismatch_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        parse_config("video", {"kind": "text", "html": "<p>x</p>"})


def test_scene_shape() -> None:
    scene = parse_config("scene", GOOD["scene"])
    assert isinstance(scene, SceneConfig) and scene.opening_hours[0].opens.hour == 8 and scene.equipment == ["茶具", "桌签"]
