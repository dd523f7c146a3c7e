"""The system status page in the admin (/admin/status/): what an operator checks first
when something seems wrong, each figure linking to the admin list of the rows behind it.

Who sees it: staff holding `live.view_ingestnode` (Support and Live operators; every
superuser). The task queue, its workers, the ingest nodes and the disks are shown to all
of them; processing jobs, webhook endpoints and deliveries, and live sessions only to
those who may read their lists, and a link only where its list would open.
Nothing refreshes by itself: the page says when it was checked.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django_q.models import Failure, OrmQ, Success

from config import status
from foundation.admin import change_url, changelist_url
from live.admin_nodes import ago, node_state_label
from live.models import IngestNode, LiveSession
from live.selectors import NODE_STATES
from media_core.admin.processing import STUCK_QUEUED
from media_core.models import ProcessingJob
from webhooks.models import WebhookDelivery, WebhookEndpoint

log = logging.getLogger("kino.status")
Job = ProcessingJob.Status
PERMISSION = "live.view_ingestnode"
# The housekeeping schedules run a task every minute: none done for this long, and no
# cluster can be seen, means no worker runs.
NO_TASK_DONE_FOR = timedelta(minutes=5)


class Links:
    """Admin list URLs for this viewer: "" where the list would refuse them."""

    def __init__(self, request: HttpRequest):
        self.request = request

    def may_view(self, model: type[models.Model]) -> bool:
        return (admin.site.is_registered(model)
                and admin.site.get_model_admin(model).has_view_permission(self.request))

    def to(self, model: type[models.Model], **filters: object) -> str:
        if not self.may_view(model):
            return ""
        return changelist_url(model, **{key: _param(value) for key, value in filters.items()})

    def to_object(self, obj: models.Model) -> str:
        return change_url(obj) if self.may_view(type(obj)) else ""


def _param(value: object) -> str:
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    return str(value)


def _minutes(duration: timedelta) -> int:
    return int(duration.total_seconds() // 60)


def _seconds(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def when(value: datetime | None, now: datetime) -> str:
    """A moment with seconds (heartbeats are seconds apart) over how long ago it was."""
    if value is None:
        return "never"
    return format_html('<time datetime="{}">{}</time><span class="kino-line">{}</span>',
                       value.isoformat(), _seconds(value), ago(value, now))


def _read(name: str, reading):
    """A reading, or what kept it from being read: the page is most needed when part of
    the platform is down (Redis, a disk), so one failing reading must not hide the rest."""
    try:
        return reading(), ""
    except Exception as exc:
        log.warning("status page: %s could not be read", name, exc_info=True)
        return None, f"Could not be read: {type(exc).__name__}: {str(exc)[:200]}"


def _queue(links: Links, now: datetime, attention: list[str]) -> dict:
    queue, problem = _read("the task queue", status.task_queue)
    section = {"queue": queue, "problem": problem,
               "list_url": links.to(OrmQ) if queue and queue.broker == "database" else ""}
    if problem:
        attention.append("The task queue could not be read.")
    elif queue.oldest_since and now - queue.oldest_since > STUCK_QUEUED:
        attention.append(f"A task has waited in the queue since {_seconds(queue.oldest_since)}.")
    if queue:
        section["oldest"] = when(queue.oldest_since, now) if queue.oldest_since else ""
    return section


def _jobs(links: Links, now: datetime, attention: list[str]) -> dict | None:
    if not links.may_view(ProcessingJob):
        return None
    jobs = status.processing_jobs(STUCK_QUEUED)
    if jobs.stuck:
        attention.append(f"{jobs.stuck} processing job{'s are' if jobs.stuck != 1 else ' is'} stuck.")
    oldest = jobs.oldest_queued
    return {
        "rows": [
            ("Queued", "", jobs.queued, links.to(ProcessingJob, status__exact=Job.QUEUED), False),
            ("Running", "", jobs.running, links.to(ProcessingJob, status__exact=Job.RUNNING),
             False),
            ("Stuck", f"a lease that ran out, or queued over {_minutes(STUCK_QUEUED)} minutes",
             jobs.stuck, links.to(ProcessingJob, stuck="yes"), jobs.stuck > 0),
        ],
        "oldest": oldest,
        "oldest_url": links.to_object(oldest) if oldest else "",
        "oldest_since": when(oldest.updated_at, now) if oldest else "",
    }


def _workers(links: Links, now: datetime, attention: list[str]) -> dict:
    found, problem = _read("the workers", status.workers)
    section = {"workers": found, "problem": problem, "done_url": links.to(Success)}
    if problem:
        attention.append("The workers' state could not be read.")
        return section
    # Heartbeats come every fraction of a second and expire within seconds: how long ago
    # is what tells, the moment itself is in the tooltip.
    section["clusters"] = [(c, format_html('<time datetime="{}" title="{}">{}</time>',
                                           c.last_heartbeat.isoformat(),
                                           _seconds(c.last_heartbeat), ago(c.last_heartbeat, now)))
                           for c in found.clusters]
    section["last_done"] = when(found.last_task_done_at, now)
    if found.visible and not found.clusters:
        attention.append("No worker cluster is running.")
    elif not found.visible and (found.last_task_done_at is None
                                or now - found.last_task_done_at > NO_TASK_DONE_FOR):
        attention.append("No task was done in the last five minutes: is a worker running?")
    return section


def _ingest(links: Links, now: datetime, attention: list[str]) -> dict:
    found = status.ingest()
    if found.by_state.get("silent"):
        silent = found.by_state["silent"]
        attention.append(f"{silent} ingest node{'s have' if silent != 1 else ' has'} stopped reporting.")
    return {
        "list_url": links.to(IngestNode),
        "states": [(state, node_state_label(state), found.by_state.get(state, 0),
                    links.to(IngestNode, state=state)) for state in NODE_STATES],
        "nodes": [(node, node_state_label(node.state), when(node.last_report_at, now))
                  for node in found.nodes],
    }


def _webhooks(links: Links, now: datetime, attention: list[str]) -> dict | None:
    if not links.may_view(WebhookEndpoint):
        return None
    found = status.failing_endpoints()
    if found.failing:
        attention.append(f"{found.failing} webhook endpoint{'s are' if found.failing != 1 else ' is'} failing.")
    return {
        "found": found,
        "failing_url": links.to(WebhookEndpoint, status="failing"),
        "disabled_url": links.to(WebhookEndpoint, status="disabled"),
        "listed": [(endpoint, links.to_object(endpoint),
                    when(endpoint.failing_since, now) if endpoint.failing_since else "")
                   for endpoint in found.listed],
    }


def _storage(attention: list[str]) -> dict:
    found, problem = _read("the disks", status.storage)
    if found:
        for disk in found.disks:
            if disk.low:
                attention.append(f"The disk holding {', '.join(disk.holds)} is "
                                 f"{disk.free_share:.0%} free.")
    return {"storage": found, "problem": problem, "low_share": status.LOW_FREE_SHARE}


def _errors(links: Links, now: datetime) -> dict:
    found = status.recent_errors(now)

    def kinds(model, rows):
        return [(kind.label, kind.count, links.to(model, **kind.filters)) for kind in rows]

    groups = []
    if links.may_view(ProcessingJob):
        groups.append(("Processing jobs failed, by error code", kinds(ProcessingJob, found.jobs)))
    if links.may_view(WebhookDelivery):
        groups.append(("Webhook deliveries failing, by last answer",
                       kinds(WebhookDelivery, found.deliveries)))
    if links.may_view(LiveSession):
        lost = found.sessions_lost
        groups.append(("Live sessions ended by an error",
                       kinds(LiveSession, [lost] if lost.count else [])))
    groups.append(("Tasks failed, by task", kinds(Failure, found.tasks)))
    return {"since": found.since, "groups": groups}


def status_page(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    links, now, attention = Links(request), timezone.now(), []
    context = {
        **admin.site.each_context(request),
        "title": "System status",
        "checked_at": _seconds(now),
        "queue": _queue(links, now, attention),
        "jobs": _jobs(links, now, attention),
        "workers": _workers(links, now, attention),
        "ingest": _ingest(links, now, attention),
        "webhooks": _webhooks(links, now, attention),
        "storage": _storage(attention),
        "errors": _errors(links, now),
        "attention": attention,
    }
    return TemplateResponse(request, "admin/status.html", context)


urlpatterns = [
    path("", admin.site.admin_view(status_page), name="admin-status"),
]
