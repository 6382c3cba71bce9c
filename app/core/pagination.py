"""Lists are {"items": [...], "total": n} with ?limit=&offset= (API.md)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


def page_numbers(total: int, limit: int, offset: int) -> dict[str, int]:
    pages = max(1, (total + limit - 1) // limit)
    current = offset // limit + 1
    return {"pages": pages, "current": current, "prev_offset": max(0, offset - limit),
            "next_offset": offset + limit, "has_prev": int(offset > 0), "has_next": int(offset + limit < total)}
