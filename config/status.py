"""The figures of the system status page (config/status_page.py): the task queue and its
workers, processing jobs, ingest nodes, failing webhook endpoints, free storage and the
last day's errors by kind.

It reads every app, which is why it sits here, above them all. Each reading is plain
data; the page decides who sees which and adds the links to the filtered lists.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db.models import Count, Q
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Failure, OrmQ, Task
from django_q.signing import SignedPackage
from django_q.status import Stat
from django_q.utils import get_func_repr

from live.models import LiveSession
from live.selectors import IngestNodeState, ingest_nodes, sessions_lost_filter
from media_core.models import ProcessingJob
from media_core.selectors import oldest_queued_job
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.selectors import ENDPOINT_STATUS

# Errors are counted over this much of the past.
RECENT = timedelta(hours=24)
# Less free space than this share of a disk is shown as a warning.
LOW_FREE_SHARE = 0.10
# Endpoints listed by name; the count links to all of them.
ENDPOINTS_LISTED = 10

Job = ProcessingJob.Status
Delivery = WebhookDelivery.Status


@dataclass
class TaskQueue:
    broker: str  # "database" or "Redis"
    depth: int
    # The task that has waited longest: what it runs and since when it waits.
    oldest_since: datetime | None = None
    oldest_func: str = ""
    in_hand: int | None = None  # taken by a cluster and not yet done (database only)


def task_queue() -> TaskQueue:
    broker = get_broker()
    if Conf.ORM:
        # A queued row's lock is when it became free to take: when it was queued, or
        # when a cluster that took it failed to finish in time and it came back.
        waiting = OrmQ.objects.using(Conf.ORM).filter(key=broker.list_key,
                                                      lock__lte=timezone.now())
        oldest = waiting.order_by("lock", "id").first()
        return TaskQueue(broker="database", depth=broker.queue_size(),
                         in_hand=broker.lock_size(),
                         oldest_since=oldest.lock if oldest else None,
                         oldest_func=_func_of(oldest.payload) if oldest else "")
    # Redis: a list whose head is the next task out; its package says when it was
    # queued. Tasks a cluster took are no longer in Redis (each cluster reports them).
    head = broker.connection.lindex(broker.list_key, 0)
    task = _package(head) if head else {}
    return TaskQueue(broker="Redis", depth=broker.queue_size(),
                     oldest_since=task.get("started"), oldest_func=_func_name(task))


def _package(payload) -> dict:
    try:
        task = SignedPackage.loads(payload)
    except Exception:  # a package signed with another key, or not a task at all
        return {}
    return task if isinstance(task, dict) else {}


def _func_of(payload) -> str:
    return _func_name(_package(payload))


def _func_name(task: dict) -> str:
    return get_func_repr(task.get("func")) or ""


@dataclass
class Cluster:
    host: str
    pid: int
    status: str
    workers: int
    in_hand: int
    last_heartbeat: datetime


@dataclass
class Workers:
    clusters: list[Cluster]
    # False: the clusters report to a cache this process cannot read (each process
    # has its own), so none is seen whether or not any runs.
    visible: bool
    last_task_done_at: datetime | None
    last_task_func: str = ""


def workers() -> Workers:
    broker = get_broker()
    visible = not Conf.ORM or not isinstance(caches[Conf.CACHE], LocMemCache | DummyCache)
    clusters = [Cluster(host=stat.host, pid=stat.pid, status=str(stat.status),
                        workers=len(getattr(stat, "workers", []) or []),
                        in_hand=getattr(stat, "task_q_size", 0) or 0,
                        last_heartbeat=stat.timestamp)
                for stat in Stat.get_all(broker=broker)] if visible else []
    clusters.sort(key=lambda c: (c.host, c.pid))
    # Done tasks are kept in the database whatever the broker: a recent one means a
    # worker ran it, which the housekeeping schedules do every minute.
    last = Task.objects.order_by("-stopped").only("stopped", "func").first()
    return Workers(clusters=clusters, visible=visible,
                   last_task_done_at=last.stopped if last else None,
                   last_task_func=last.func if last else "")


@dataclass
class Jobs:
    queued: int
    running: int
    stuck: int
    oldest_queued: ProcessingJob | None


def processing_jobs(stuck_queued_after: timedelta) -> Jobs:
    now = timezone.now()
    counts = ProcessingJob.objects.aggregate(
        queued=Count("pk", filter=Q(status=Job.QUEUED)),
        running=Count("pk", filter=Q(status=Job.RUNNING)),
        # As the job list's "stuck" filter: a lease that ran out, or queued too long.
        stuck=Count("pk", filter=Q(status=Job.RUNNING, lease_expires_at__lt=now)
                    | Q(status=Job.QUEUED, updated_at__lt=now - stuck_queued_after)))
    return Jobs(oldest_queued=oldest_queued_job(), **counts)


@dataclass
class IngestNodes:
    nodes: list[IngestNodeState]
    by_state: dict[str, int]


def ingest() -> IngestNodes:
    nodes = ingest_nodes()
    by_state: dict[str, int] = {}
    for node in nodes:
        by_state[node.state] = by_state.get(node.state, 0) + 1
    return IngestNodes(nodes=nodes, by_state=by_state)


@dataclass
class Endpoints:
    failing: int  # enabled, and its last deliveries failed
    disabled: int
    listed: list[WebhookEndpoint]  # the failing and disabled ones, longest failing first


def failing_endpoints() -> Endpoints:
    failing, disabled = ENDPOINT_STATUS["failing"], ENDPOINT_STATUS["disabled"]
    counts = WebhookEndpoint.objects.aggregate(
        failing=Count("pk", filter=failing), disabled=Count("pk", filter=disabled))
    listed = list(WebhookEndpoint.objects.filter(failing | disabled)
                  .select_related("environment")
                  .order_by("enabled", "failing_since", "id")[:ENDPOINTS_LISTED])
    return Endpoints(listed=listed, **counts)


@dataclass
class Disk:
    holds: list[str]  # what is stored on it
    path: Path
    total: int
    free: int

    @property
    def free_share(self) -> float:
        return self.free / self.total if self.total else 0.0

    @property
    def free_percent(self) -> int:
        return round(self.free_share * 100)

    @property
    def low(self) -> bool:
        return self.free_share < LOW_FREE_SHARE


@dataclass
class Storage:
    disks: list[Disk]
    object_storage: bool  # media in S3-compatible storage, which reports no limit


def _existing(path: Path) -> Path:
    """The folder itself or, before it is first made, the nearest one above it."""
    path = Path(path).resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def storage() -> Storage:
    local = settings.STORAGE_BACKEND == "local"
    folders = [("media", settings.MEDIA_ROOT)] if local else []
    folders += [("database and working files", settings.VAR_DIR),
                ("processing work", settings.PROCESSING_TMP_DIR),
                ("upload staging", settings.UPLOAD_STAGING_DIR)]
    disks: dict[int, Disk] = {}
    for holds, folder in folders:
        path = _existing(folder)
        device = os.stat(path).st_dev
        if device in disks:
            disks[device].holds.append(holds)
            continue
        usage = shutil.disk_usage(path)
        disks[device] = Disk(holds=[holds], path=Path(folder), total=usage.total,
                             free=usage.free)
    return Storage(disks=list(disks.values()), object_storage=not local)


@dataclass
class ErrorKind:
    label: str
    count: int
    # The lookups that list these very rows in their admin list.
    filters: dict[str, object] = field(default_factory=dict)


@dataclass
class RecentErrors:
    since: datetime
    jobs: list[ErrorKind]
    deliveries: list[ErrorKind]
    sessions_lost: ErrorKind
    tasks: list[ErrorKind]


def recent_errors(now: datetime | None = None) -> RecentErrors:
    # Whole seconds: the links to the lists carry it so, and must count the same rows.
    since = ((now or timezone.now()) - RECENT).replace(microsecond=0)
    jobs = [ErrorKind(row["error_code"] or "(no code)", row["n"],
                      {"status__exact": Job.FAILED, "error_code__exact": row["error_code"],
                       "finished_at__gte": since})
            for row in (ProcessingJob.objects
                        .filter(status=Job.FAILED, finished_at__gte=since)
                        .values("error_code").annotate(n=Count("pk")).order_by("-n", "error_code"))]
    deliveries = []
    for row in (WebhookDelivery.objects
                .filter(Q(status=Delivery.DEAD) | Q(status=Delivery.PENDING, attempts__gt=0),
                        updated_at__gte=since)
                .values("status", "last_status_code").annotate(n=Count("pk"))
                .order_by("-n", "status", "last_status_code")):
        code = row["last_status_code"]
        dead = row["status"] == Delivery.DEAD
        label = (f"{'dead' if dead else 'retrying'} · "
                 f"{f'HTTP {code}' if code else 'no response'}")
        filters: dict[str, object] = {"health": "dead" if dead else "failing",
                                      "updated_at__gte": since}
        filters.update({"last_status_code__exact": code} if code
                       else {"last_status_code__isnull": "True"})
        deliveries.append(ErrorKind(label, row["n"], filters))
    lost = sessions_lost_filter(since=since)
    sessions = ErrorKind("lost by their ingest node",
                         LiveSession.objects.filter(**lost).count(), lost)
    tasks = [ErrorKind(row["func"], row["n"], {"func": row["func"], "stopped__gte": since})
             for row in (Failure.objects.filter(stopped__gte=since).values("func")
                         .annotate(n=Count("pk")).order_by("-n", "func"))]
    return RecentErrors(since=since, jobs=jobs, deliveries=deliveries,
                        sessions_lost=sessions, tasks=tasks)

