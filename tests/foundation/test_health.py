"""/healthz and /readyz as a load balancer reads them."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from foundation import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_serves(anonymous):
    response = anonymous.get("/healthz")

    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


def test_readyz_checks_each_dependency(anonymous, media_root):
    response = anonymous.get("/readyz")

    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "queue": "ok", "storage": "ok",
                                         "ffmpeg": "ok", "ingest": "ok"}
    assert "max-age=0" in response["Cache-Control"]
    assert not list((media_root / "health").glob("*"))  # the probe file is removed


def test_readyz_names_the_database_when_it_is_down(anonymous, monkeypatch):
    def down():
        raise OperationalError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", down)

    response = anonymous.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database"]
    assert body["checks"]["database"].startswith("failing: OperationalError")
    assert body["checks"]["storage"] == "ok"


def test_readyz_names_storage_that_cannot_be_written(anonymous, settings, tmp_path):
    (tmp_path / "not-a-folder").write_text("")
    settings.STORAGES = {**settings.STORAGES, "default": {  # nothing can be made there
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "not-a-folder" / "media")}}}

    response = anonymous.get("/readyz")

    assert response.status_code == 503 and response.json()["failing"] == ["storage"]
    assert response.json()["checks"]["database"] == "ok"


def test_readyz_names_a_missing_ffmpeg(anonymous, settings):
    settings.FFMPEG_BIN = "/nonexistent/ffmpeg"

    response = anonymous.get("/readyz")

    assert response.status_code == 503 and response.json()["failing"] == ["ffmpeg"]


def test_readyz_names_an_ingest_node_gone_silent_and_can_leave_it_out(anonymous):
    from datetime import timedelta

    from django.utils import timezone

    from live.models import IngestNode

    now = timezone.now()
    IngestNode.objects.create(name="ingest-1", first_seen_at=now, last_report_at=now)
    IngestNode.objects.create(name="ingest-old", first_seen_at=now - timedelta(days=9),
                              last_report_at=now - timedelta(days=8))  # retired
    assert anonymous.get("/readyz").status_code == 200

    IngestNode.objects.create(name="ingest-2", first_seen_at=now - timedelta(minutes=5),
                              last_report_at=now - timedelta(seconds=40))
    response = anonymous.get("/readyz")

    assert response.status_code == 503 and response.json()["failing"] == ["ingest"]
    assert "ingest-2 silent for 40 s" in response.json()["checks"]["ingest"]
    assert "ingest-old" not in response.json()["checks"]["ingest"]
    excluded = anonymous.get("/readyz?exclude=ingest")
    assert excluded.status_code == 200 and "ingest" not in excluded.json()["checks"]
