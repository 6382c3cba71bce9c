"""Media pages: the library with the uploader, the embeddable uploader fragment, the polling status fragment."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from app.core.jobs import Job
from app.media.models import MediaAsset
from tests.helpers import login
from tests.media.conftest import post_file

pytestmark = pytest.mark.usefixtures("clean_media")


def test_library_page_has_the_uploader(client: TestClient, instructor: User) -> None:
    login(client, instructor.username)
    page = BeautifulSoup(client.get("/media").text, "html.parser")
    root = page.select_one("[data-media-uploader]")
    assert root is not None and root["data-create-url"] == "/api/v1/media/uploads"
    assert page.select_one("script[src$='js/media-upload.js']") is not None
    assert page.select_one("#media-empty") is not None
    assert not page.select("script:not([src])")  # CSP: no inline scripts
    fragment = BeautifulSoup(client.get("/media/uploader", headers={"HX-Request": "true"}).text, "html.parser")
    assert fragment.select_one("[data-media-uploader]") is not None and fragment.select_one("html") is None


def test_status_fragment_polls_until_done(client: TestClient, session: Session, instructor: User, instructor_api: dict[str, str],
                                          media_files: dict[str, Path]) -> None:
    asset_id = post_file(client, instructor_api, media_files["png"]).json()["id"]
    login(client, instructor.username)
    frag = BeautifulSoup(client.get(f"/media/{asset_id}/status", headers={"HX-Request": "true"}).text, "html.parser")
    box = frag.select_one(f"#media-status-{asset_id}")
    assert box is not None and box["data-status"] == "queued" and box["hx-trigger"] == "load delay:1s"
    asset = session.get(MediaAsset, asset_id)
    job = session.get(Job, asset.job_id)  # type: ignore[union-attr]
    job.status, job.error = "failed", "PermanentJobError: 坏了"  # type: ignore[union-attr]
    session.add(job)
    session.commit()
    page = BeautifulSoup(client.get(f"/media/{asset_id}").text, "html.parser")
    box = page.select_one(f"#media-status-{asset_id}")
    assert box is not None and box["data-status"] == "failed" and not box.get("hx-trigger")
    assert page.select_one("#media-error").get_text(strip=True) == "坏了"  # type: ignore[union-attr]
    assert page.select_one("#media-retry") is not None


def test_trainee_cannot_open_the_library(client: TestClient, trainee: User) -> None:
    login(client, trainee.username)
    assert client.get("/media").status_code == 403
