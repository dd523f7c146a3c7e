"""Usage records: counters, work counted once, the storage ledger, and the delivery log
from the line a response writes to the bytes an environment is charged for."""

from __future__ import annotations

import os
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from foundation.context import Actor
from foundation.usage import delivery_log, ingest, selectors, services, tasks
from foundation.usage.models import Metric, StoredObject, UsageCounter, UsageRecord
from media_core.services.assets import asset_create

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 30)


def figures(environment, start=DAY, end=DAY) -> list[dict]:
    return selectors.usage_by_day(environment_id=environment.id, start=start, end=end)


def on_day(monkeypatch, day: date) -> None:
    monkeypatch.setattr(services, "_today", lambda: day)


def playable(environment):
    asset = asset_create(environment_id=environment.id, actor=Actor.system("tests"),
                         settings={"playback_policy": ["public"]}, start_processing=False)
    return asset, asset.playback_ids.get()


# --- counters ----------------------------------------------------------------------------
def test_additions_to_a_counter_add_up_in_one_row(environment):
    for amount in (5, 7, 0):
        services.counter_add(environment_id=environment.id, metric=Metric.DELIVERY_BYTES,
                             amount=amount, day=DAY)

    assert UsageCounter.objects.get().value == 12
    assert figures(environment)[0]["delivery_bytes"] == 12


def test_environments_are_counted_apart(environment, other_environment):
    services.counter_add(environment_id=environment.id, metric=Metric.DELIVERY_BYTES,
                         amount=5, day=DAY)

    assert figures(other_environment)[0]["delivery_bytes"] == 0


def test_work_recorded_twice_under_one_key_counts_once(environment, monkeypatch):
    on_day(monkeypatch, DAY)
    first = services.processing_record(key="job_1-1", environment_id=environment.id,
                                       job_type="encode", seconds=1.5)
    again = services.processing_record(key="job_1-1", environment_id=environment.id,
                                       job_type="encode", seconds=1.5)
    services.processing_record(key="job_1-2", environment_id=environment.id,
                               job_type="encode", seconds=0.25)

    assert (first, again) == (True, False)
    processing = figures(environment)[0]["processing_seconds"]
    assert processing["encode"] == 1.75 and processing["total"] == 1.75
    assert processing["clip"] == 0.0


def test_a_live_session_over_midnight_counts_on_both_days(environment):
    start = datetime(2026, 11, 29, 23, 59, 0, tzinfo=UTC)
    services.span_record(key="lss_1", environment_id=environment.id, metric=Metric.LIVE_MS,
                         start=start, end=start + timedelta(minutes=3))
    services.span_record(key="lss_1", environment_id=environment.id, metric=Metric.LIVE_MS,
                         start=start, end=start + timedelta(minutes=3))

    before, after = figures(environment, DAY - timedelta(days=1), DAY)
    assert (before["live_seconds"], after["live_seconds"]) == (60.0, 120.0)


# --- the storage ledger ------------------------------------------------------------------
def test_storage_shows_what_was_stored_at_each_days_end(environment, monkeypatch):
    on_day(monkeypatch, DAY - timedelta(days=2))
    services.storage_stored(environment_id=environment.id, kind="originals",
                            name="uploads/upl_1/master", size=1000)
    services.storage_stored(environment_id=environment.id, kind="renditions",
                            name="assets/ast_1/job_1-1", size=300)
    on_day(monkeypatch, DAY - timedelta(days=1))
    services.storage_stored(environment_id=environment.id, kind="static_renditions",
                            name="assets/ast_1/job_1-1/static/highest.mp4", size=50)
    on_day(monkeypatch, DAY)
    removed = services.storage_forget(prefix="assets/ast_1")

    days = figures(environment, DAY - timedelta(days=1), DAY)
    assert removed == 350
    assert days[0]["storage_bytes"] == {
        "total": 1350, "originals": 1000, "renditions": 300, "static_renditions": 50,
        "text_tracks": 0, "recordings": 0, "images": 0}
    assert days[1]["storage_bytes"]["total"] == 1000
    assert list(StoredObject.objects.values_list("name", flat=True)) == ["uploads/upl_1/master"]


def test_a_file_stored_again_counts_its_new_size_only(environment):
    for size in (100, 40):
        services.storage_stored(environment_id=environment.id, kind="images",
                                name="assets/ast_1/job_1-1/images/t.jpg", size=size)

    assert selectors.stored_bytes(environment_id=environment.id) == {"images": 40}


def test_forgetting_a_folder_leaves_folders_that_only_share_its_start(environment):
    services.storage_stored(environment_id=environment.id, kind="renditions",
                            name="assets/ast_1/job_1-1", size=10)
    services.storage_stored(environment_id=environment.id, kind="renditions",
                            name="assets/ast_1/job_1-10", size=20)

    assert services.storage_forget(prefix="assets/ast_1/job_1-1") == 10
    assert services.storage_forget(prefix="assets/ast_1/job_1-1") == 0
    assert selectors.stored_bytes(environment_id=environment.id) == {"renditions": 20}


# --- the delivery log --------------------------------------------------------------------
def lines(path) -> list[list[str]]:
    return [line.split(" ") for line in path.read_text().splitlines()] if path.exists() else []


def serve(path: str, response, method: str = "GET"):
    request = RequestFactory().generic(method, path)
    answered = delivery_log.counted(lambda request: response)(request)
    if answered.streaming:
        body = b"".join(answered.streaming_content)
        answered.close()
        return body
    return answered.content


def test_a_delivery_response_writes_one_line_without_the_child_urls_signature(delivery_log_path):
    serve("/v/pbk_x/s/1700000000/SIGNATURE_secret/assets/ast_y/job_z-1/360p/seg_00001.m4s",
          HttpResponse(b"x" * 1234))

    ((msec, status, size, method, path),) = lines(delivery_log_path)
    assert (status, size, method) == ("200", "1234", "GET")
    assert path == "/v/pbk_x/s/1700000000/assets/ast_y/job_z-1/360p/seg_00001.m4s"
    assert "SIGNATURE" not in delivery_log_path.read_text()
    assert abs(float(msec) - datetime.now(UTC).timestamp()) < 60


def test_refusals_head_requests_and_empty_bodies_write_nothing(delivery_log_path):
    serve("/v/pbk_x.m3u8", HttpResponse(b"no", status=403))
    serve("/v/pbk_x.m3u8", HttpResponse(b"#EXTM3U"), method="HEAD")
    serve("/v/pbk_x/highest.mp4", HttpResponse(b""))

    assert lines(delivery_log_path) == []


def test_a_streamed_response_counts_what_was_sent_in_parts_of_at_most_the_flush_size(
        delivery_log_path, monkeypatch):
    monkeypatch.setattr(delivery_log, "FLUSH_BYTES", 10)
    body = serve("/v/pbk_x/highest.mp4",
                 StreamingHttpResponse(iter([b"a" * 6, b"b" * 6, b"c" * 3]), status=206))

    assert len(body) == 15
    assert [(status, int(size)) for _, status, size, _, _ in lines(delivery_log_path)] == [
        ("206", 12), ("206", 3)]


def test_a_viewer_who_leaves_mid_stream_is_charged_for_what_was_sent(delivery_log_path):
    request = RequestFactory().get("/v/pbk_x/highest.mp4")
    response = delivery_log.counted(lambda request: StreamingHttpResponse(
        iter([b"a" * 5, b"b" * 5, b"c" * 5])))(request)
    chunks = iter(response.streaming_content)
    next(chunks)
    response.close()

    assert [int(size) for _, _, size, _, _ in lines(delivery_log_path)] == [5]


def test_a_path_that_could_split_the_line_is_escaped(delivery_log_path):
    serve("/v/pbk_x/s/1/sig/a b\n1 200 99999 GET /v/pbk_y.m3u8", HttpResponse(b"xy"))

    assert len(lines(delivery_log_path)) == 1


def test_behind_nginx_the_platform_writes_no_line(delivery_log_path, settings, tmp_path):
    settings.NGINX_ACCESS_LOG = str(tmp_path / "nginx.log")
    serve("/v/pbk_x.m3u8", HttpResponse(b"#EXTM3U"))

    assert lines(delivery_log_path) == []


def test_a_log_renamed_away_is_followed_by_the_new_one_within_a_second(delivery_log_path,
                                                                        monkeypatch):
    monkeypatch.setattr(delivery_log, "REOPEN_SECONDS", 0.0)
    delivery_log.append(200, 1, "GET", "/v/a")
    os.replace(delivery_log_path, f"{delivery_log_path}.1")
    delivery_log.append(200, 2, "GET", "/v/b")

    assert [size for _, _, size, _, _ in lines(delivery_log_path)] == ["2"]


@pytest.fixture
def delivery_log_path(delivery_log):
    return delivery_log


# --- reading the logs into the counters ---------------------------------------------------
def write_log(path, *entries, stamp: float | None = None) -> None:
    stamp = stamp if stamp is not None else datetime(2026, 11, 30, 12, tzinfo=UTC).timestamp()
    with open(path, "a") as fh:
        for status, size, target in entries:
            fh.write(f"{stamp:.3f} {status} {size} GET {target}\n")


def test_delivered_bytes_count_for_the_playback_ids_environment_once(environment,
                                                                     other_environment,
                                                                     delivery_log_path):
    _, mine = playable(environment)
    _, theirs = playable(other_environment)
    write_log(delivery_log_path, (200, 100, f"/v/{mine.id}.m3u8"),
              (206, 1000, f"/v/{mine.id}/highest.mp4"), (200, 7, f"/v/{theirs.id}.m3u8"),
              (404, 50, f"/v/{mine.id}.m3u8"), (200, 50, "/api/v1/assets"))

    assert ingest.ingest_delivery_logs() == {"platform": 1107}
    assert ingest.ingest_delivery_logs() == {"platform": 0}
    assert figures(environment)[0]["delivery_bytes"] == 1100
    assert figures(other_environment)[0]["delivery_bytes"] == 7


def test_a_line_still_being_written_waits_for_its_end(environment, delivery_log_path):
    _, playback_id = playable(environment)
    write_log(delivery_log_path, (200, 10, f"/v/{playback_id.id}.m3u8"))
    with open(delivery_log_path, "a") as fh:
        fh.write(f"1796040000.000 200 20 GET /v/{playback_id.id}")

    ingest.ingest_delivery_logs()
    assert figures(environment)[0]["delivery_bytes"] == 10
    with open(delivery_log_path, "a") as fh:
        fh.write(".m3u8\n")
    ingest.ingest_delivery_logs()

    assert figures(environment)[0]["delivery_bytes"] == 30


def test_a_rotated_log_is_read_to_its_end_before_its_successor(environment, delivery_log_path,
                                                               monkeypatch):
    _, playback_id = playable(environment)
    target = f"/v/{playback_id.id}.m3u8"
    write_log(delivery_log_path, (200, 1, target))
    ingest.ingest_delivery_logs()
    rotated = delivery_log_path.with_name(delivery_log_path.name + ".1")
    os.replace(delivery_log_path, rotated)
    write_log(rotated, (200, 10, target))  # a writer that has not reopened yet
    write_log(delivery_log_path, (200, 100, target))

    ingest.ingest_delivery_logs()  # the old file is read; it may still be written to
    assert figures(environment)[0]["delivery_bytes"] == 11
    monkeypatch.setattr(ingest, "QUIET_SECONDS", 0.0)
    ingest.ingest_delivery_logs()
    ingest.ingest_delivery_logs()

    assert figures(environment)[0]["delivery_bytes"] == 111


def test_a_log_truncated_in_place_is_read_again_from_its_start(environment, delivery_log_path):
    _, playback_id = playable(environment)
    write_log(delivery_log_path, (200, 1000, f"/v/{playback_id.id}.m3u8"))
    ingest.ingest_delivery_logs()
    delivery_log_path.write_text("")
    write_log(delivery_log_path, (200, 5, f"/v/{playback_id.id}.m3u8"))

    ingest.ingest_delivery_logs()

    assert figures(environment)[0]["delivery_bytes"] == 1005


def test_the_platforms_own_log_is_rotated_once_it_is_large_and_read(environment,
                                                                   delivery_log_path,
                                                                   monkeypatch):
    _, playback_id = playable(environment)
    monkeypatch.setattr(ingest, "ROTATE_BYTES", 10)
    write_log(delivery_log_path, (200, 3, f"/v/{playback_id.id}.m3u8"))

    ingest.ingest_delivery_logs()

    assert not delivery_log_path.exists()
    assert delivery_log_path.with_name(delivery_log_path.name + ".1").exists()
    assert figures(environment)[0]["delivery_bytes"] == 3


def test_nginx_log_is_read_beside_the_platforms(environment, delivery_log_path, settings,
                                                tmp_path):
    _, playback_id = playable(environment)
    settings.NGINX_ACCESS_LOG = str(tmp_path / "nginx-access.log")
    write_log(tmp_path / "nginx-access.log",
              (200, 500, f"/v/{playback_id.id}/s/1800000000/assets/ast_x/job_y-1/360p/seg_00000.m4s"))
    write_log(delivery_log_path, (200, 20, f"/v/{playback_id.id}.m3u8"))

    assert ingest.ingest_delivery_logs() == {"platform": 20, "nginx": 500}


def test_bytes_of_a_deleted_playback_id_count_for_its_assets_environment(environment,
                                                                         delivery_log_path):
    asset, playback_id = playable(environment)
    path = f"/v/{playback_id.id}/s/1800000000/assets/{asset.id}/job_x-1/360p/seg_00000.m4s"
    playback_id.delete()
    write_log(delivery_log_path, (200, 70, path), (200, 9, "/v/pbk_00000000000000000000000000.m3u8"))

    ingest.ingest_delivery_logs()

    assert figures(environment)[0]["delivery_bytes"] == 70


def test_a_line_counts_on_the_day_it_was_served(environment, delivery_log_path):
    _, playback_id = playable(environment)
    write_log(delivery_log_path, (200, 4, f"/v/{playback_id.id}.m3u8"),
              stamp=datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC).timestamp())

    ingest.ingest_delivery_logs()

    before, after = figures(environment, DAY - timedelta(days=1), DAY)
    assert (before["delivery_bytes"], after["delivery_bytes"]) == (4, 0)


# --- at the same moment ------------------------------------------------------------------
def test_first_uses_of_a_counter_at_the_same_moment_all_count_in_one_row(transactional_db,
                                                                        environment):
    from django.db import connection

    workers, barrier = 6, threading.Barrier(6)

    def add():
        try:
            barrier.wait()
            services.counter_add(environment_id=environment.id, metric=Metric.DELIVERY_BYTES,
                                 amount=10, day=DAY)
        finally:
            connection.close()

    threads = [threading.Thread(target=add) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert list(UsageCounter.objects.values_list("value", flat=True)) == [60]


def test_keys_of_work_counted_long_ago_are_forgotten_by_the_minute_task(environment):
    for key in ("job_old-1", "job_new-1"):
        services.processing_record(key=key, environment_id=environment.id, job_type="encode",
                                   seconds=1)
    UsageRecord.objects.filter(key="processing:job_old-1").update(
        recorded_at=datetime.now(UTC) - timedelta(days=31))

    tasks.ingest_delivery()

    assert list(UsageRecord.objects.values_list("key", flat=True)) == ["processing:job_new-1"]


def test_a_download_nginx_logged_under_its_internal_location_counts(environment, settings,
                                                                    delivery_log_path, tmp_path):
    asset, _ = playable(environment)
    settings.DOWNLOAD_ACCEL_PREFIX = "/_kino/downloads/"
    settings.NGINX_ACCESS_LOG = str(tmp_path / "nginx-access.log")
    write_log(tmp_path / "nginx-access.log",
              (206, 4096, f"/_kino/downloads/assets/{asset.id}/job_x-1/static/highest.mp4"),
              (200, 99, "/_kino/other"))

    ingest.ingest_delivery_logs()

    assert figures(environment)[0]["delivery_bytes"] == 4096


def test_a_machine_without_a_worker_counts_its_logs_from_its_timer(environment, settings,
                                                                   delivery_log_path, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    settings.NGINX_ACCESS_LOG = tmp_path / "nginx-access.log"
    _, playback_id = playable(environment)
    write_log(settings.NGINX_ACCESS_LOG, (200, 4096, f"/v/{playback_id.id}/s/1/[signature]/a.m4s"))
    out = StringIO()

    call_command("read_delivery_logs", stdout=out)

    assert "nginx: 4096 bytes counted" in out.getvalue()
    assert figures(environment)[0]["delivery_bytes"] == 4096
