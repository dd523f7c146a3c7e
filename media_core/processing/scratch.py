"""The workers' scratch space (PROCESSING_TMP_DIR) on this machine, kept clean.

A worker killed mid-job (SIGKILL, OOM, a lost machine) leaves its work folder behind,
and the job is finished elsewhere. `manage.py worker` sweeps at its start and every hour
after: a job's folder goes once that job is no longer running under a live lease here
or anywhere; anything else (a download's, a recording's, a copy of an original) goes
once it is older than the longest a task may run. Another worker of this machine
sharing the folder loses nothing it is still using.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from media_core.models import ProcessingJob

log = logging.getLogger(__name__)

_JOB_FOLDER = re.compile(r"^(job_[0-9a-z]{26})-")
MARGIN_SECONDS = 600


def scratch_sweep() -> list[str]:
    """Remove what no running work uses; returns the names removed."""
    root = Path(settings.PROCESSING_TMP_DIR)
    if not root.is_dir():
        return []
    entries = list(root.iterdir())
    job_ids = {m.group(1) for e in entries if (m := _JOB_FOLDER.match(e.name))}
    alive = set(ProcessingJob.objects.filter(
        pk__in=job_ids, status=ProcessingJob.Status.RUNNING,
        lease_expires_at__gt=timezone.now()).values_list("pk", flat=True))
    too_old = time.time() - settings.PROCESSING_TIMEOUT_SECONDS - MARGIN_SECONDS
    removed = []
    for entry in entries:
        job = _JOB_FOLDER.match(entry.name)
        try:
            stale = (job.group(1) not in alive) if job else entry.stat().st_mtime < too_old
        except FileNotFoundError:
            continue  # its own worker removed it meanwhile
        if stale:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry.name)
    if removed:
        log.info("removed %d leftovers of killed work from %s: %s", len(removed), root,
                 ", ".join(sorted(removed)[:20]))
    return removed
