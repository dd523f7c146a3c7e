from __future__ import annotations

from pathlib import Path

import pytest

from foundation.context import Actor
from media_core.models import Asset, ProcessingJob
from media_core.processing import fetch
from media_core.processing.errors import MediaError
from media_core.processing.pipeline import run_job
from media_core.services import processing
from media_core.services.assets import asset_check_input, asset_create_from_url, asset_retry
from media_core.storage import list_tree, media_storage
from tests.clips import make_clip
from tests.web_servers import web_servers

pytestmark = pytest.mark.storage  # on local files and on an S3 server

IMPORTER = Actor.system("tests")


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4").read_bytes()


@pytest.fixture
def servers():
    with web_servers() as start:
        yield start


@pytest.fixture
def site(servers, settings):
    """A media server on 127.0.0.2, the one address these tests allow."""
    settings.URL_IMPORT_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    return servers("127.0.0.2")


def _import(environment, url: str, **settings) -> Asset:
    """As the API does: check the URL when the request comes, then create the asset."""
    settings.setdefault("playback_policy", ["public"])
    asset_check_input(url)
    asset = asset_create_from_url(environment_id=environment.id, actor=IMPORTER, url=url,
                                  settings=settings)
    asset.refresh_from_db()
    return asset


def _stored_files(media_root: Path) -> list[Path]:
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


def test_a_clip_on_an_allowed_server_is_imported_and_becomes_ready(environment, sync_tasks, site,
                                                                    clip_bytes):
    site.file("/clip.mp4", clip_bytes)

    asset = _import(environment, site.url("/clip.mp4"), title="Imported")

    assert asset.status == Asset.Status.READY, asset.error_messages
    assert asset.duration == pytest.approx(2.0, abs=0.1)
    assert asset.master_name.startswith(f"imports/{asset.id}/master-")
    assert asset.master_size == len(clip_bytes)
    assert list_tree(f"imports/{asset.id}") == [asset.master_name]
    job = asset.jobs.get()
    assert (job.status, job.attempts, job.progress) == (ProcessingJob.Status.SUCCEEDED, 1, 1.0)
    assert site.hits == 1


def test_a_redirect_to_loopback_is_refused_and_its_target_never_reached(environment, sync_tasks,
                                                                         site, servers, clip_bytes,
                                                                         media_root):
    loopback = servers("127.0.0.1")
    loopback.file("/clip.mp4", clip_bytes)
    site.redirect("/clip.mp4", loopback.url("/clip.mp4"))

    asset = _import(environment, site.url("/clip.mp4"))

    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "input_refused")
    assert "redirected to a private or local address" in asset.error_messages[0]
    assert asset.jobs.get().status == ProcessingJob.Status.FAILED
    assert loopback.hits == 0
    assert asset.master_name == "" and _stored_files(media_root) == []


def test_a_missing_file_ends_errored_as_unavailable(environment, sync_tasks, site, media_root):
    asset = _import(environment, site.url("/gone.mp4"))

    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "input_unavailable")
    assert "404 Not Found" in asset.error_messages[0]
    assert asset.jobs.get().attempts == 1  # permanent: not retried
    assert _stored_files(media_root) == []


@pytest.mark.parametrize("content_length", [True, False], ids=["announced", "unannounced"])
def test_a_file_larger_than_the_limit_is_refused_and_nothing_is_kept(environment, sync_tasks, site,
                                                                      settings, clip_bytes,
                                                                      media_root, content_length):
    settings.UPLOAD_MAX_BYTES = 10_000
    site.file("/big.mp4", clip_bytes, content_length=content_length)

    asset = _import(environment, site.url("/big.mp4"))

    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "input_too_large")
    assert "9.8 KB" in asset.error_messages[0]
    assert not (media_root / "imports" / asset.id).exists()
    assert _stored_files(media_root) == []


def test_an_empty_body_is_refused_as_an_empty_file(environment, sync_tasks, site, media_root):
    site.file("/empty.mp4", b"")

    asset = _import(environment, site.url("/empty.mp4"))

    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "empty_file")
    assert _stored_files(media_root) == []


def test_an_imported_file_that_is_not_a_video_is_refused_and_not_kept(environment, sync_tasks,
                                                                       site, media_root):
    site.file("/notes.mp4", b"just some text\n" * 1000)

    asset = _import(environment, site.url("/notes.mp4"))

    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "non_video")
    assert asset.master_name == ""
    assert not (media_root / "imports" / asset.id).exists()
    assert _stored_files(media_root) == []


def test_an_import_that_failed_can_be_retried_and_is_fetched_again(environment, sync_tasks, site,
                                                                    clip_bytes):
    asset = _import(environment, site.url("/later.mp4"))
    assert asset.error_type == "input_unavailable"

    site.file("/later.mp4", clip_bytes)
    asset_retry(asset=asset, actor=IMPORTER)
    asset.refresh_from_db()

    assert asset.status == Asset.Status.READY
    assert site.hits == 2


# --- transient failures: retried, so the job goes back to the queue ----------------
# Without sync mode the retry waits in the queue, which lets the test look at it.
@pytest.mark.django_db(transaction=True)
def test_a_server_that_never_answers_times_out_and_the_job_is_retried(environment, site, settings,
                                                                       media_root):
    settings.URL_IMPORT_READ_TIMEOUT = 1
    site.hang("/clip.mp4")
    asset = _import(environment, site.url("/clip.mp4"))

    run_job(asset.jobs.get().id)

    job = asset.jobs.get()
    assert (job.status, job.attempts, job.error_code) == (ProcessingJob.Status.QUEUED, 1,
                                                           "input_unavailable")
    assert job.error_message.startswith("The URL could not be fetched:")
    assert "timed out" in job.error_message
    asset.refresh_from_db()
    assert asset.status == Asset.Status.PREPARING and asset.master_name == ""
    assert _stored_files(media_root) == []


@pytest.mark.django_db(transaction=True)
def test_a_server_error_is_retried(environment, site):
    site.status("/clip.mp4", 503)
    asset = _import(environment, site.url("/clip.mp4"))

    run_job(asset.jobs.get().id)

    job = asset.jobs.get()
    assert (job.status, job.error_code) == (ProcessingJob.Status.QUEUED, "input_unavailable")
    assert "503 Service Unavailable" in job.error_message


@pytest.mark.django_db(transaction=True)
def test_a_download_cut_short_is_retried_and_its_part_deleted(environment, site, clip_bytes,
                                                               media_root):
    site.trickle("/clip.mp4", clip_bytes, pieces=4, pause=0.05, stop_after=2)
    asset = _import(environment, site.url("/clip.mp4"))

    run_job(asset.jobs.get().id)

    job = asset.jobs.get()
    assert (job.status, job.error_code) == (ProcessingJob.Status.QUEUED, "input_unavailable")
    assert "broke off" in job.error_message
    assert _stored_files(media_root) == []


@pytest.mark.django_db(transaction=True)
def test_a_name_that_now_resolves_to_loopback_is_refused_by_the_worker(environment, site, servers,
                                                                        clip_bytes, monkeypatch):
    from tests.web_servers import fake_dns

    loopback = servers("127.0.0.1")
    target = servers("127.0.0.2", port=loopback.port)
    loopback.file("/clip.mp4", clip_bytes)
    target.file("/clip.mp4", clip_bytes)
    fake_dns(monkeypatch, {"media.example.test": ["127.0.0.2", "127.0.0.1"]})
    # Checked at request time: the name answers the allowed address then.
    asset = _import(environment, target.url("/clip.mp4", host="media.example.test"))

    run_job(asset.jobs.get().id)

    asset.refresh_from_db()
    assert (asset.status, asset.error_type) == (Asset.Status.ERRORED, "input_refused")
    assert loopback.hits == 0 and target.hits == 0


# --- progress ------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_job_reports_downloading_progress_from_the_content_length(environment, site,
                                                                      clip_bytes, monkeypatch):
    monkeypatch.setattr(fetch, "PROGRESS_INTERVAL", 0.05)
    site.trickle("/clip.mp4", clip_bytes, pieces=4, pause=0.15)
    beats: list[tuple[str | None, float | None]] = []
    heartbeat = processing.job_heartbeat

    def recording_heartbeat(*, job, progress=None, stage=None):
        beats.append((stage, progress))
        return heartbeat(job=job, progress=progress, stage=stage)

    monkeypatch.setattr(processing, "job_heartbeat", recording_heartbeat)
    asset = _import(environment, site.url("/clip.mp4"))

    run_job(asset.jobs.get().id)

    downloading = [progress for stage, progress in beats if stage == "downloading"]
    assert downloading[0] == 0.0 and downloading[-1] == 1.0
    assert any(0 < p < 1 for p in downloading), downloading
    assert downloading == sorted(downloading)
    assert beats.index(("downloading", 1.0)) < beats.index(("encoding", 0.0))
    asset.refresh_from_db()
    assert asset.status == Asset.Status.READY


def test_progress_is_reported_at_most_once_an_interval(site, clip_bytes):
    site.trickle("/clip.mp4", clip_bytes, pieces=6, pause=0.3)
    calls: list[tuple[int, int | None]] = []

    name, size = fetch.fetch_to_storage(url=site.url("/clip.mp4"), folder="imports/test",
                                        max_bytes=10**9,
                                        on_progress=lambda got, total: calls.append((got, total)))

    with media_storage().open(name, "rb") as stored:
        assert size == len(clip_bytes) and stored.read() == clip_bytes
    assert calls[0] == (0, len(clip_bytes)) and calls[-1] == (len(clip_bytes), len(clip_bytes))
    # 1.5 s of trickling at one report a second: the start, one or two on the way, the end.
    assert 3 <= len(calls) <= 4, calls


@pytest.mark.django_db(transaction=True)
def test_a_job_that_loses_its_lease_while_downloading_stops_and_keeps_nothing(
        environment, site, clip_bytes, monkeypatch, media_root):
    monkeypatch.setattr(fetch, "PROGRESS_INTERVAL", 0)
    site.trickle("/clip.mp4", clip_bytes, pieces=4, pause=0.05)
    heartbeat = processing.job_heartbeat

    def cancelled_midway(*, job, progress=None, stage=None):
        if stage == "downloading" and progress:
            processing.job_cancel(job=job, reason="The asset was deleted.")
        return heartbeat(job=job, progress=progress, stage=stage)

    monkeypatch.setattr(processing, "job_heartbeat", cancelled_midway)
    asset = _import(environment, site.url("/clip.mp4"))

    run_job(asset.jobs.get().id)

    assert asset.jobs.get().status == ProcessingJob.Status.CANCELLED
    asset.refresh_from_db()
    assert asset.master_name == ""
    assert _stored_files(media_root) == []


def test_fetch_maps_a_refused_url_to_a_permanent_media_error(media_root):
    with pytest.raises(MediaError) as refused:
        fetch.fetch_to_storage(url="http://169.254.169.254/latest/meta-data/", folder="imports/x",
                               max_bytes=1000, on_progress=lambda got, total: None)

    assert refused.value.code == "input_refused"
    assert _stored_files(media_root) == []
