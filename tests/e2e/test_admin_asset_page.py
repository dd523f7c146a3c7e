"""The asset page in Debian's Chromium: while the asset prepares, the progress line and
the jobs table follow the same job; a refused original is not offered for retry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from foundation.admin import change_url
from media_core.processing.pipeline import run_job
from media_core.services.processing import job_claim, job_heartbeat
from tests.browser import chromium_page
from tests.clips import random_bytes
from tests.factories import asset_from_file

pytestmark = pytest.mark.e2e

PASSWORD = "s3cret-pw"
PROGRESS_SCREENSHOT = "/tmp/admin-asset-progress.png"
REFUSED_SCREENSHOT = "/tmp/admin-asset-refused.png"


def _sign_in(page, platform, next_url: str) -> None:
    page.goto(f"{platform.base_url}/admin/login/?next={next_url}")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_url}")


def _job_row(page, job_id: str) -> dict[str, str]:
    """The jobs table's row for the job, as the operator reads it: column -> text."""
    return page.eval_on_selector(
        f"#jobs-group tr:has(a:text-is('{job_id}'))",
        """row => Object.fromEntries([...row.querySelectorAll('td')].map(
               td => [td.className.replace('field-', ''), td.innerText.trim()]))""")


def _work_on(job_id: str) -> bool:
    claimed = job_claim(job_id=job_id)
    ok = job_heartbeat(job=claimed, progress=0.98, stage="encoding")
    connection.close()
    return ok


def test_the_jobs_table_follows_the_job_the_progress_line_shows(
        platform, environment, django_user_model, tmp_path):
    django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)
    asset = asset_from_file(environment, random_bytes(tmp_path / "waiting.mp4"), title="Harbour")
    job = asset.jobs.get()  # no worker runs here: it waits, queued

    with chromium_page() as page:
        _sign_in(page, platform, change_url(asset))
        before = _job_row(page, job.id)
        # A worker takes the job and reports progress while the page is open (in a thread
        # of its own: Playwright's event loop runs in this one).
        with ThreadPoolExecutor(1) as worker:
            assert worker.submit(_work_on, job.id).result()
        page.wait_for_function(
            "document.getElementById('job-progress').innerText.trim() === '98 %'",
            timeout=15_000)
        line = page.inner_text(".field-latest_job .readonly").strip()
        after = _job_row(page, job.id)
        page.screenshot(path=PROGRESS_SCREENSHOT, full_page=True)

    assert (before["state"], before["progress_percent"]) == ("queued", "0 %")
    assert line == f"98 % {job.id} running (encoding), attempt 1/3"
    assert (after["state"], after["progress_percent"], after["stage_now"],
            after["attempts_of"]) == ("running", "98 %", "encoding", "1/3")


def test_a_refused_asset_offers_no_retry_and_says_why(platform, environment, django_user_model,
                                                     tmp_path):
    django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)
    asset = asset_from_file(environment, random_bytes(tmp_path / "noise.mp4"), title="Noise")
    run_job(asset.jobs.get().id)

    with chromium_page() as page:
        _sign_in(page, platform, change_url(asset))
        retry_buttons = page.locator("input[name=_retry]").count()
        reason = page.inner_text("#retry-refused")
        view_site = page.get_attribute("#user-tools a:text-is('View site')", "href")
        icon = page.get_attribute("link[rel=icon]", "href")
        page.screenshot(path=REFUSED_SCREENSHOT, full_page=True)
        docs = page.goto(f"{platform.base_url}{view_site}")
        favicon = page.goto(f"{platform.base_url}/favicon.ico")
        favicon_type = favicon.headers["content-type"]

    assert retry_buttons == 0
    assert "The original file was refused and is gone; upload it again." in reason
    assert view_site == "/api/v1/docs/" and docs.status == 200
    assert icon == "/static/favicon.svg"
    assert favicon.status == 200 and favicon_type.startswith("image/svg+xml")
