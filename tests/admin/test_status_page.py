"""The system status page: who may open it, and that its figures and links say what the
platform holds (queue, jobs, workers, ingest nodes, failing endpoints, disks, the last
day's errors). One Chromium screenshot at 1400 px."""

from __future__ import annotations

import re
import shutil
import uuid
from collections import namedtuple
from datetime import timedelta
from html import unescape

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ, Task
from django_q.signing import SignedPackage
from django_q.status import Status
from pytest_django.asserts import assertContains, assertNotContains

from config import status
from foundation import roles
from foundation.admin import change_url, changelist_url
from foundation.context import Actor
from live.models import IngestNode, LiveSession, LiveStream
from live.services import ingest_report
from live.services.reports import LOST_REASON
from media_core.models import ProcessingJob
from media_core.services import processing
from tests.browser import chromium_page, sign_in
from tests.clips import make_clip, random_bytes
from tests.factories import asset_from_file, failed_asset
from webhooks import services as webhook_services
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

URL = "/admin/status/"
ACTOR = Actor.system("tests")


@pytest.fixture(autouse=True)
def own_queue(monkeypatch):
    """A task queue of this test's own: on a shared Redis, others' tasks and clusters
    stay out of its figures, and its tasks out of theirs."""
    name = f"kino-status-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(Conf, "CLUSTER_NAME", name)
    monkeypatch.setattr(Conf, "PREFIX", name)
    monkeypatch.setattr(Conf, "Q_STAT", f"django_q:{name}:cluster")
    yield
    if not Conf.ORM:
        broker = get_broker()
        broker.delete_queue()
        for key in broker.connection.keys(f"{Conf.Q_STAT}:*"):
            broker.connection.delete(key)


def queue_task(func: str, queued_at) -> None:
    """A task as django-q2 queues it, queued at that time."""
    broker = get_broker()
    queued = broker.enqueue(SignedPackage.dumps({"id": uuid.uuid4().hex, "name": "t",
                                                 "func": func, "args": (), "kwargs": {},
                                                 "started": queued_at}))
    if Conf.ORM:  # the database broker keeps the time a task became free to take
        OrmQ.objects.filter(pk=queued).update(lock=queued_at)


def report_cluster(host: str, pid: int, workers: int) -> None:
    """A worker cluster's heartbeat as django-q2's sentinel saves it (seen through Redis)."""
    cluster = Status(pid=pid, cluster_id=uuid.uuid4())
    cluster.host, cluster.status, cluster.workers = host, "Idle", list(range(workers))
    get_broker().set_stat(f"{Conf.Q_STAT}:{cluster.cluster_id}", SignedPackage.dumps(cluster), 30)


def links(page) -> dict[str, str]:
    """Each link's text (whitespace folded) → its URL."""
    found = {}
    for href, text in re.findall(r'<a [^>]*href="([^"]+)"[^>]*>(.*?)</a>', page.content.decode(), re.S):
        found[" ".join(re.sub(r"<[^>]+>", "", text).split())] = unescape(href)
    return found


def figures(html: str) -> dict[str, tuple[int, str]]:
    """The linked figures of a part of the page: row label → (figure, the link's URL)."""
    return {label: (int(count), unescape(href)) for label, href, count in re.findall(
        r'<th scope="row">([^<]+)(?:<span[^>]*>[^<]*</span>)?</th>\s*<td class="num[^"]*">'
        r'<a href="([^"]+)">(\d+)</a>', html)}


def section(page, section_id: str) -> str:
    html = page.content.decode()
    start = html.index(f'id="{section_id}"')
    return html[start:html.index('<div class="module"', start + 1)
                if '<div class="module"' in html[start + 1:] else len(html)]


# --- who may open it --------------------------------------------------------------------
@pytest.mark.parametrize("role", [roles.SUPPORT, roles.LIVE_OPERATORS])
def test_support_and_live_operators_open_it_from_the_header(member, role):
    client = member(role)

    home = client.get(reverse("admin:index"))
    assertContains(home, f'<a href="{URL}">System status</a>', html=True)
    page = client.get(URL)
    assert page.status_code == 200
    assertContains(page, "<h1>System status</h1>", html=True)


def test_editors_neither_see_the_link_nor_open_the_page(member):
    client = member(roles.EDITORS)

    assertNotContains(client.get(reverse("admin:index")), "System status")
    assert client.get(URL).status_code == 403


def test_people_outside_the_console_are_sent_to_sign_in(outsider_client, client):
    assert outsider_client.get(URL)["Location"].startswith("/admin/login/")


def test_live_operators_see_no_jobs_deliveries_or_endpoints(member):
    page = member(roles.LIVE_OPERATORS).get(URL)

    for hidden in ("Processing jobs", "Webhook endpoints failing", "Webhook deliveries"):
        assertNotContains(page, hidden)
    assertContains(page, "Ingest nodes")
    assertContains(page, "Live sessions ended by an error")


# --- the figures and where they lead ----------------------------------------------------
def test_processing_jobs_queued_running_and_stuck_link_to_the_job_list(
        admin_client, environment, tmp_path):
    waiting = asset_from_file(environment, random_bytes(tmp_path / "a.mp4"), title="Waiting")
    asset_from_file(environment, random_bytes(tmp_path / "b.mp4"), title="Newer")
    running = asset_from_file(environment, random_bytes(tmp_path / "c.mp4"), title="Running")
    processing.job_claim(job_id=running.jobs.get().id)
    oldest = waiting.jobs.get()
    ProcessingJob.objects.filter(pk=oldest.pk).update(
        updated_at=timezone.now() - timedelta(minutes=20))

    page = admin_client.get(URL)

    jobs = figures(section(page, "status-queue"))
    assert jobs["Queued"] == (2, changelist_url(ProcessingJob, status__exact="queued"))
    assert jobs["Running"] == (1, changelist_url(ProcessingJob, status__exact="running"))
    assert jobs["Stuck"] == (1, changelist_url(ProcessingJob, stuck="yes"))
    stuck = admin_client.get(jobs["Stuck"][1])
    assert [job.id for job in stuck.context["cl"].result_list] == [oldest.id]
    html = section(page, "status-queue")
    assert f'<a href="{change_url(oldest)}">{oldest.id}</a> · Waiting' in html
    assertContains(page, "1 processing job is stuck.")


def test_the_oldest_queued_task_says_what_it_runs_and_since_when(admin_client):
    queued_at = (timezone.now() - timedelta(minutes=25)).replace(microsecond=0)
    queue_task("media_core.tasks.expire_uploads", queued_at)
    queue_task("webhooks.tasks.deliver_due", timezone.now())

    page = admin_client.get(URL)

    queue = section(page, "status-queue")
    assert re.search(r'data-figure="queue-depth">(?:<a [^>]+>)?2<', queue)
    oldest = queue.split('data-figure="queue-oldest">')[1][:400]
    assert queued_at.strftime("%Y-%m-%d %H:%M:%S") in oldest
    assert "media_core.tasks.expire_uploads" in oldest and "25\xa0minutes ago" in oldest
    assertContains(page, f"A task has waited in the queue since {queued_at:%Y-%m-%d %H:%M:%S}.")
    if Conf.ORM:
        assert links(page)["queued tasks"] == changelist_url(OrmQ)


@pytest.mark.skipif(bool(django_settings.REDIS_URL), reason="workers are seen through Redis")
def test_without_redis_the_page_says_why_it_cannot_list_workers_and_when_a_task_was_done(
        admin_client):
    done = timezone.now() - timedelta(seconds=40)
    Task.objects.create(id=uuid.uuid4().hex, name="t", func="live.tasks.housekeeping",
                        started=done, stopped=done, success=True)

    page = admin_client.get(URL)

    workers = section(page, "status-workers")
    assert "cannot list them" in workers
    assert "live.tasks.housekeeping" in workers and "40 s ago" in workers
    assertNotContains(page, "is a worker running?")


@pytest.mark.skipif(bool(django_settings.REDIS_URL), reason="workers are seen through Redis")
def test_without_redis_no_task_done_lately_asks_whether_a_worker_runs(admin_client):
    done = timezone.now() - timedelta(minutes=6)
    Task.objects.create(id=uuid.uuid4().hex, name="t", func="live.tasks.housekeeping",
                        started=done, stopped=done, success=True)

    page = admin_client.get(URL)

    assertContains(page, "No task was done in the last five minutes: is a worker running?")


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="the ORM broker's clusters report "
                                                          "to a process-local cache")
def test_with_redis_each_running_cluster_is_listed_with_its_heartbeat(admin_client):
    report_cluster("worker-7", 4242, workers=3)

    workers = section(admin_client.get(URL), "status-workers")

    assert '<td class="status-host">worker-7</td>' in workers
    assert '<td class="num">4242</td>' in workers and "s ago</time>" in workers
    assert "<td>Idle</td>" in workers and '<td class="num">3</td>' in workers


def test_ingest_nodes_by_state_link_to_their_list(admin_client):
    ingest_report(node="edge-1", streams=[{"name": "lvs_a"}], relays=[])
    ingest_report(node="edge-2", streams=[], relays=[])
    ingest_report(node="edge-3", streams=[], relays=[], final=True)
    IngestNode.objects.filter(name="edge-2").update(
        last_report_at=timezone.now() - timedelta(minutes=2))

    page = admin_client.get(URL)

    found = links(page)
    assert found["all nodes"] == changelist_url(IngestNode)
    assert found["1 silent"] == changelist_url(IngestNode, state="silent")
    assert found["1 reporting"] == changelist_url(IngestNode, state="reporting")
    nodes = section(page, "status-ingest")
    assert '<tr data-node="edge-2"><td>edge-2</td><td><strong style="color: #ba2121">silent' in nodes
    assert "2\xa0minutes ago" in nodes
    assertContains(page, "1 ingest node has stopped reporting.")


def test_failing_and_disabled_endpoints_link_to_the_endpoint_list(admin_client, environment):
    def endpoint(path):
        made, _ = webhook_services.endpoint_create(
            environment_id=environment.id, url=f"http://127.0.0.2:9/hooks/{path}",
            events=["*"], actor=ACTOR)
        return made

    failing, off = endpoint("failing"), endpoint("off")
    endpoint("fine")
    WebhookEndpoint.objects.filter(pk=failing.pk).update(
        failing_since=timezone.now() - timedelta(hours=5))
    WebhookEndpoint.objects.filter(pk=off.pk).update(enabled=False,
                                                     disabled_reason="Failing for 3 days")

    page = admin_client.get(URL)

    hooks = section(page, "status-webhooks")
    assert "127.0.0.2:9/hooks/failing" in hooks and "Failing for 3 days" in hooks
    assert "127.0.0.2:9/hooks/fine" not in hooks
    failing_link = hooks.split("Failing (their last deliveries failed)")[1][:300]
    url = unescape(failing_link.split('href="')[1].split('"')[0])
    listed = admin_client.get(url)
    assertContains(listed, "127.0.0.2:9/hooks/failing")
    assertNotContains(listed, "127.0.0.2:9/hooks/off")
    assertNotContains(listed, "127.0.0.2:9/hooks/fine")
    assertContains(page, "1 webhook endpoint is failing.")


def test_the_last_days_errors_are_counted_by_kind_and_each_count_lists_them(
        admin_client, environment, tmp_path):
    failed_asset(environment, make_clip(tmp_path / "crash.mp4"), title="Crashed")
    endpoint, _ = webhook_services.endpoint_create(
        environment_id=environment.id, url="http://127.0.0.2:9/hooks/in", events=["*"],
        actor=ACTOR)
    for code in (503, 503, None):
        WebhookDelivery.objects.create(endpoint=endpoint, event=Event.objects.first(),
                                       status=WebhookDelivery.Status.DEAD, attempts=5,
                                       last_status_code=code)
    stream = LiveStream.objects.create(environment=environment, name="Studio", key_hash="x")
    for reason in (LOST_REASON, "the encoder stopped"):
        LiveSession.objects.create(stream=stream, node="edge-1", app="live", client_id="1",
                                   ended_at=timezone.now(), end_reason=reason)
    LiveSession.objects.create(stream=stream, node="edge-1", app="live", client_id="2",
                               end_reason=LOST_REASON,  # but before the last day
                               ended_at=timezone.now() - timedelta(days=2))

    page = admin_client.get(URL)

    rows = figures(section(page, "status-errors"))
    assert {label: count for label, (count, _) in rows.items()} == {
        "encoder_failed": 1, "dead · HTTP 503": 2, "dead · no response": 1,
        "lost by their ingest node": 1}
    for label, model in [("encoder_failed", ProcessingJob), ("dead · HTTP 503", WebhookDelivery),
                         ("dead · no response", WebhookDelivery),
                         ("lost by their ingest node", LiveSession)]:
        count, url = rows[label]
        assert url.startswith(changelist_url(model) + "?")
        listed = admin_client.get(url)
        assert listed.context["cl"].result_count == count, label


def test_a_disk_short_of_space_is_a_warning(admin_client, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(100 * 2**30, 95 * 2**30, 5 * 2**30))

    page = admin_client.get(URL)

    disks = section(page, "status-storage")
    assert '<tr class="status-warn"><td>media, database and working files' in disks
    assert "5.0\xa0GB · 5 %" in disks
    assertContains(page, "The disk holding media, database and working files, processing work, "
                         "upload staging is 5% free.")


def test_media_in_object_storage_has_no_limit_to_report(admin_client, settings):
    settings.STORAGE_BACKEND = "s3"

    disks = section(admin_client.get(URL), "status-storage")

    assert "object storage" in disks and "no limit reported" in disks
    assert "<td>media," not in disks and "database and working files" in disks


def test_a_queue_that_cannot_be_read_is_said_so_and_the_rest_still_shows(admin_client, monkeypatch):
    def down():
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(status, "task_queue", down)
    monkeypatch.setattr(status, "workers", down)

    page = admin_client.get(URL)

    assert page.status_code == 200
    assertContains(page, "Could not be read: ConnectionError: Error 111", count=2)
    assertContains(page, "The task queue could not be read.")
    assertContains(page, "No ingest node has reported.")


# --- in a browser -----------------------------------------------------------------------
SCREENSHOT = "/tmp/admin-status.png"


@pytest.mark.django_db(transaction=True)
def test_the_page_reads_at_1400_px_in_chromium(live_server, environment, tmp_path,
                                               django_user_model):
    roles.sync_roles()
    user = django_user_model.objects.create_user("ops", password="ops-pw-1", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.SUPPORT))
    failed_asset(environment, make_clip(tmp_path / "crash.mp4"), title="Interview")
    asset_from_file(environment, random_bytes(tmp_path / "w.mp4"), title="Waiting upload")
    queue_task("media_core.tasks.expire_uploads", timezone.now() - timedelta(seconds=30))
    if not Conf.ORM:
        report_cluster("worker-1", 2817, workers=4)
    for name in ("ingest-ams-1", "ingest-ams-2", "ingest-fra-1"):
        ingest_report(node=name, streams=[], relays=[])
    IngestNode.objects.filter(name="ingest-ams-2").update(
        last_report_at=timezone.now() - timedelta(minutes=4))
    endpoint, _ = webhook_services.endpoint_create(
        environment_id=environment.id, url="http://127.0.0.2:9/crm/kino/video-events",
        events=["*"], actor=ACTOR)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=3))
    WebhookDelivery.objects.create(endpoint=endpoint, event=Event.objects.first(),
                                   status=WebhookDelivery.Status.DEAD, attempts=9,
                                   last_status_code=502)

    with chromium_page() as page:
        page.set_viewport_size({"width": 1400, "height": 900})
        sign_in(page, live_server.url, "ops", "ops-pw-1", then=URL)
        page.screenshot(path=SCREENSHOT, full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        attention = page.inner_text("#status-attention")
        columns = page.evaluate("""() => [...document.querySelectorAll('.status-grid > div')]
            .map(column => Math.round(column.getBoundingClientRect().left))""")
        page.click("#status-ingest a:has-text('1 silent')")
        page.wait_for_selector("#result_list")
        silent = page.inner_text("#result_list tbody")

    assert overflow <= 0
    assert len(set(columns)) == 2, "the sections stand in two columns"
    assert "1 ingest node has stopped reporting." in attention
    assert "1 webhook endpoint is failing." in attention
    assert "ingest-ams-2" in silent and "ingest-fra-1" not in silent
