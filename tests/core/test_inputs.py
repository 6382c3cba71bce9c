"""Every input a route accepts goes through the shared input types (app/core/types.py): whole numbers are
bounded to what an int4 column holds, text refuses control characters, free-form JSON is bounded in
depth. A guard walks all routes (path, query, header, form and body parameters, their dependencies and
the fields of their body models), so a new route or field with a bare `int` or `str` fails here."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import re
import types
import typing
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from annotated_types import Ge, Gt, Interval, Le, Lt
from fastapi import UploadFile
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic.functional_validators import AfterValidator

from app.core import types as shared
from app.core.routing import api_routes
from app.core.types import INT4_MAX, INT8_MAX
from app.main import create_app
from tests.helpers import api_token, csrf_from, login

_PROBES = ("\x00", "a\x00", "\x00a", "\x01", "a\x1fb", "\x7f", "\x85", "\ud800")


def _flat(metadata: list[Any]) -> list[Any]:
    """Field(...) used inside Annotated carries its constraints in its own metadata."""
    return [inner for item in metadata for inner in ([item, *_flat(item.metadata)] if isinstance(item, FieldInfo) else [item])]


def _bounds(metadata: list[Any]) -> tuple[float | None, float | None]:
    low = high = None
    for item in _flat(metadata):
        for constraint in (item if isinstance(item, Interval) else [item]):
            if isinstance(constraint, Ge):
                low = constraint.ge
            elif isinstance(constraint, Gt):
                low = constraint.gt
            elif isinstance(constraint, Le):
                high = constraint.le
            elif isinstance(constraint, Lt):
                high = constraint.lt
        for name, attr in (("ge", "low"), ("gt", "low"), ("le", "high"), ("lt", "high")):
            value = getattr(item, name, None)
            if value is not None and not isinstance(item, Ge | Gt | Le | Lt):
                if attr == "low":
                    low = value
                else:
                    high = value
    return low, high


def _text_checked(metadata: list[Any]) -> bool:
    for item in _flat(metadata):
        if isinstance(item, AfterValidator) and getattr(item.func, "__module__", "") == shared.__name__:
            return True
        pattern = getattr(item, "pattern", None)
        if isinstance(pattern, str) and not any(re.search(pattern, probe) for probe in _PROBES):
            return True
    return False


def _json_checked(metadata: list[Any]) -> bool:
    return any(isinstance(item, AfterValidator) and item.func is shared.check_json for item in metadata)


def _metadata_of(field_info: Any) -> list[Any]:
    return list(getattr(field_info, "metadata", []) or [])


def _problems(annotation: Any, metadata: list[Any], where: str, seen: set[type]) -> list[str]:
    if _json_checked(metadata):
        return []  # JsonValue, JsonObject: checked whole
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return _problems(base, [*metadata, *extra], where, seen)
    if origin in (Union, types.UnionType):
        return [p for arg in get_args(annotation) if arg is not type(None) for p in _problems(arg, metadata, where, seen)]
    if origin in (list, set, frozenset, tuple, typing.Sequence):
        return [p for arg in get_args(annotation) if arg is not Ellipsis for p in _problems(arg, [], f"{where}[]", seen)]
    if origin is dict:
        key, value = get_args(annotation)
        return _problems(key, [], f"{where}{{key}}", seen) + _problems(value, [], f"{where}{{}}", seen)
    if origin is Literal or annotation in (bool, type(None), dt.datetime, dt.date, dt.time, dt.timedelta, decimal.Decimal, bytes):
        return []
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum | UploadFile):
        return []
    if annotation is int:
        low, high = _bounds(metadata)
        widest = INT8_MAX if shared.BIGINT_COLUMN in metadata else INT4_MAX
        if low is None or high is None or low < -widest - 1 or high > widest:
            return [f"{where}: int without int4 bounds (use app.core.types Id, Offset, Count, Int4)"]
        return []
    if annotation is float:
        low, high = _bounds(metadata)
        if low is None or high is None:
            return [f"{where}: float without bounds"]
        return []
    if annotation is str:
        return [] if _text_checked(metadata) else [f"{where}: str without the shared text check (use app.core.types Line or Text)"]
    if annotation is Any or annotation is object:
        return [] if _json_checked(metadata) else [f"{where}: free-form value without the JSON check (use app.core.types JsonValue)"]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return []
        seen.add(annotation)
        found = []
        for name, info in annotation.model_fields.items():
            found += _problems(info.annotation, _metadata_of(info), f"{where}.{name}", seen)
        return found
    return [f"{where}: unchecked input type {annotation!r}"]


def _dependant_problems(dependant: Dependant, where: str) -> list[str]:
    found = []
    for kind in ("path_params", "query_params", "header_params", "cookie_params", "body_params"):
        for field in getattr(dependant, kind):
            info = field.field_info
            found += _problems(info.annotation, _metadata_of(info), f"{where} {kind[:-7]} {field.name}", set())
    for sub in dependant.dependencies:
        found += _dependant_problems(sub, where)
    return found


def test_every_route_input_uses_the_shared_types() -> None:
    problems = []
    for info in api_routes(create_app()):
        for method in sorted(info.methods - {"HEAD"}):
            problems += _dependant_problems(info.route.dependant, f"{method} {info.path}")
    assert not problems, f"{len(problems)} inputs:\n" + "\n".join(sorted(set(problems)))


# -- what the shared types answer ------------------------------------------------------------------

BIG = 2**63  # answered 500 before: the driver cannot bind it


@pytest.fixture
def admin_headers(client, admin):  # type: ignore[no-untyped-def]
    return api_token(client, "admin1")


@pytest.mark.parametrize("path", [f"/api/v1/attempts/{BIG}", f"/api/v1/attempts/{2**31}", "/api/v1/attempts/0",
                                  f"/api/v1/users/{BIG}", f"/api/v1/question-banks/{BIG}/questions", f"/api/v1/courses/{BIG}",
                                  f"/api/v1/attempts/{BIG}/status", "/api/v1/attempts/abc"])
def test_a_path_id_out_of_range_is_not_found(client, admin_headers, path: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(path, headers=admin_headers)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "请求的内容不存在"


def test_a_page_id_out_of_range_is_a_chinese_404(client, admin) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    for path in (f"/admin/users/{BIG}", f"/exams/{BIG}", f"/learn/courses/{BIG}", f"/exams/attempts/{BIG}/result"):
        response = client.get(path)
        assert response.status_code == 404 and "请求的内容不存在" in response.text, path


@pytest.mark.parametrize("query", [f"offset={BIG}", "offset=-1", f"org_unit_id={BIG}", "org_unit_id=0"])
def test_a_query_number_out_of_range_is_refused(client, admin_headers, query: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/users?{query}", headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][0] == "query"


def test_a_body_id_out_of_range_is_refused(client, admin_headers, org) -> None:  # type: ignore[no-untyped-def]
    body = {"username": "big_unit", "display_name": "大号", "org_unit_id": BIG}
    response = client.post("/api/v1/users", headers=admin_headers, json=body)
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["body", "org_unit_id"]
    sorted_unit = client.post("/api/v1/org-units", headers=admin_headers,
                              json={"code": "u-big", "name": "单位", "kind": "unit", "parent_id": org["bureau"].id, "sort_order": BIG})
    assert sorted_unit.status_code == 422


@pytest.mark.parametrize("name", ["张三\x00", "张\x07三", "张三\n", "\x1b[31m红", "张\u0085三", "张\ud800三"])
def test_control_characters_are_refused_in_text(client, admin_headers, trainee, name: str) -> None:  # type: ignore[no-untyped-def]
    response = client.patch(f"/api/v1/users/{trainee.id}", headers={**admin_headers, "Content-Type": "application/json"},
                            content=json.dumps({"display_name": name}))
    assert response.status_code == 422, response.text
    assert "控制字符" in response.json()["errors"][0]["msg"]


def test_control_characters_are_refused_on_a_page_form(client, admin, trainee) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin1")
    token = csrf_from(client, f"/admin/users/{trainee.id}")
    response = client.post(f"/admin/users/{trainee.id}", data={"csrf_token": token, "display_name": "张\x00三"})
    assert response.status_code == 422 and "控制字符" in response.text


def test_multiline_text_keeps_its_lines(client, admin_headers) -> None:  # type: ignore[no-untyped-def]
    created = client.post("/api/v1/question-banks", headers=admin_headers, json={"name": "题库", "description": "第一行\r\n\t第二行"})
    assert created.status_code == 201, created.text
    refused = client.post("/api/v1/question-banks", headers=admin_headers, json={"name": "题\n库"})
    assert refused.status_code == 422
