"""Ingest nodes as their reports describe them: a node's first report records it, each
later one moves its last report on, its final one marks it stopped; a node quiet for
longer than the lost-session window is silent. The console lists them read-only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from foundation.admin import changelist_url
from live.models import IngestNode
from live.selectors import IngestNodeState, ingest_nodes
from live.services.reports import LOST_AFTER

from .support import Ingest, create_stream, event_types, go_live, stat

pytestmark = pytest.mark.django_db


def node_queries(queries) -> list[str]:
    return [q["sql"].split()[0] for q in queries if "live_ingestnode" in q["sql"]]


def test_a_nodes_first_report_records_it_with_the_streams_it_reports(owner):
    before = timezone.now()
    stream, other = create_stream(owner), create_stream(owner)
    ingest = Ingest("edge-1")
    go_live(ingest, stream)

    node = IngestNode.objects.get()
    assert node.name == "edge-1" and node.stopped_at is None
    assert before <= node.first_seen_at == node.last_report_at <= timezone.now()
    assert node.streams == 1

    go_live(ingest, other, client_id="2")
    ingest.report([stat(stream["id"]), stat(other["id"], client_id="2")])
    assert IngestNode.objects.get().streams == 2


def test_each_later_report_moves_the_last_report_on_in_one_update(owner):
    ingest = Ingest("edge-1")
    ingest.report()
    an_hour_ago = timezone.now() - timedelta(hours=1)
    IngestNode.objects.update(first_seen_at=an_hour_ago, last_report_at=an_hour_ago)

    with CaptureQueriesContext(connection) as queries:
        ingest.report([stat("lvs_not_publishing_here")])

    # Its row: one UPDATE. Then one look for other nodes gone silent with sessions open.
    assert node_queries(queries) == ["UPDATE", "SELECT"]
    node = IngestNode.objects.get()
    assert node.first_seen_at == an_hour_ago
    assert timezone.now() - node.last_report_at < timedelta(seconds=5)
    assert node.streams == 1


def test_a_final_report_stops_the_node_and_its_next_start_clears_that():
    ingest = Ingest("edge-1")
    ingest.report()
    ingest.report(final=True)

    node = IngestNode.objects.get()
    assert node.stopped_at == node.last_report_at
    assert [n.state for n in ingest_nodes()] == ["stopped"]

    ingest.report()
    assert IngestNode.objects.get().stopped_at is None
    assert [n.state for n in ingest_nodes()] == ["reporting"]


def test_a_report_answered_after_a_newer_one_changes_nothing():
    """The node gave up waiting for an answer and sent its next report, which was
    recorded first; the late one must not undo it."""
    newer = timezone.now() + timedelta(seconds=30)
    IngestNode.objects.create(name="edge-1", first_seen_at=newer - timedelta(hours=1),
                              last_report_at=newer, stopped_at=newer, streams=0)

    Ingest("edge-1").report([stat("lvs_x")])

    node = IngestNode.objects.get()
    assert (node.last_report_at, node.stopped_at, node.streams) == (newer, newer, 0)


def test_the_nodes_read_as_reporting_silent_or_stopped_by_name():
    for name in ("edge-2", "edge-1", "edge-3"):
        Ingest(name).report()
    Ingest("edge-3").report(final=True)
    quiet_since = timezone.now() - LOST_AFTER - timedelta(seconds=1)
    IngestNode.objects.filter(name="edge-2").update(last_report_at=quiet_since)

    nodes = ingest_nodes()

    assert [(n.name, n.state) for n in nodes] == [
        ("edge-1", "reporting"), ("edge-2", "silent"), ("edge-3", "stopped")]
    assert isinstance(nodes[0], IngestNodeState)
    assert nodes[1].last_report_at == quiet_since


def test_a_node_just_inside_the_window_still_reports():
    Ingest("edge-1").report()
    IngestNode.objects.update(last_report_at=timezone.now() - LOST_AFTER + timedelta(seconds=2))

    assert [n.state for n in ingest_nodes()] == ["reporting"]


def test_the_console_lists_the_nodes_read_only_and_filters_them_by_state(admin_client):
    Ingest("edge-1").report([stat("lvs_a"), stat("lvs_b")])
    Ingest("edge-2").report()
    IngestNode.objects.filter(name="edge-2").update(
        last_report_at=timezone.now() - timedelta(minutes=3))

    page = admin_client.get(changelist_url(IngestNode))
    assertContains(page, "edge-1")
    assertContains(page, '<strong style="color: #1b7f3b">reporting</strong>', html=True)
    assertContains(page, '<strong style="color: #ba2121">silent</strong>', html=True)
    assertContains(page, "3\xa0minutes ago")
    assertContains(page, '<td class="field-streams">2</td>', html=True)
    assertNotContains(page, "Add ingest node")

    silent = admin_client.get(changelist_url(IngestNode, state="silent"))
    assertContains(silent, "edge-2")
    assertNotContains(silent, "edge-1")
    node = IngestNode.objects.get(name="edge-1")
    assert admin_client.post(f"{changelist_url(IngestNode)}{node.pk}/change/",
                             {"name": "renamed"}).status_code == 403


def test_a_node_that_dies_without_a_final_report_loses_its_streams(owner):
    from live.models import LiveSession
    from live.services.reports import LOST_REASON
    from live.tasks import housekeeping

    stream, elsewhere = create_stream(owner), create_stream(owner)
    dying, alive = Ingest("edge-dies"), Ingest("edge-lives")
    go_live(dying, stream)
    go_live(alive, elsewhere)
    # edge-dies sends nothing more; its last report is now older than LOST_AFTER.
    IngestNode.objects.filter(name="edge-dies").update(
        last_report_at=timezone.now() - LOST_AFTER - timedelta(seconds=1))

    alive.report([stat(elsewhere["id"])])  # another node's report notices it

    lost = LiveSession.objects.get(stream_id=stream["id"])
    assert lost.ended_at is not None and lost.end_reason == LOST_REASON
    assert owner.get(f"/api/v1/live-streams/{stream['id']}").json()["health"]["connected"] is False
    assert "video.live_stream.disconnected" in event_types(owner, stream["id"])
    assert LiveSession.objects.get(stream_id=elsewhere["id"]).ended_at is None
    assert housekeeping()["lost"] == []  # nothing left for the schedule to end


def test_with_no_node_left_the_schedule_notices_within_a_minute(owner):
    from live.models import LiveSession
    from live.tasks import housekeeping

    stream = create_stream(owner)
    only = Ingest("edge-only")
    go_live(only, stream)
    IngestNode.objects.filter(name="edge-only").update(
        last_report_at=timezone.now() - LOST_AFTER - timedelta(seconds=1))

    result = housekeeping()

    session = LiveSession.objects.get(stream_id=stream["id"])
    assert result["lost"] == [session.id] and session.ended_at is not None
