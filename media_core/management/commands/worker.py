"""Run the task worker: django-q2's cluster (`qcluster`) in a process group of its own,
stopped through its parent alone.

    python manage.py worker [--grace SECONDS]

Use it instead of `manage.py qcluster` wherever a stop signal can reach a whole process
group or control group: Ctrl-C in bin/run-local, systemd (deploy/systemd/), `kill --
-PGID`. django-q2's sentinel process resets SIGTERM to its default action (die at once)
and waits on a multiprocessing Event; the cluster's parent stops by setting that Event.
When the same SIGTERM kills the sentinel while it waits, it is still counted as a
sleeper of the Event's Condition, and the parent's Event.set() waits forever for it to
wake (multiprocessing.synchronize.Condition.notify): the cluster never exits.

Here only this process signals the cluster. SIGTERM or SIGINT to it is passed to the
cluster's parent only, which stops taking tasks, lets each worker finish the task in
hand and exits. After --grace seconds the cluster's whole group is killed: a task cut
short is handed out again as after a crash (its processing lease or webhook claim
runs out).
"""

from __future__ import annotations

import logging
import signal
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from foundation.processes import ChildProcess
from media_core.processing.scratch import scratch_sweep

log = logging.getLogger("kino.worker")
SWEEP_EVERY = 3600  # seconds between sweeps of the scratch space


class Command(BaseCommand):
    help = "Run the task worker (qcluster); SIGTERM or SIGINT stops it within --grace seconds."

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace", type=float, default=20.0,
            help="Seconds the workers get to finish their tasks once asked to stop, before "
                 "they are killed (default 20: a webhook delivery's timeout and then some).")

    def handle(self, *args, grace: float, **options):
        # What a worker killed on this machine left in the scratch space goes first
        # (media_core/processing/scratch.py), and every hour after.
        swept = time.monotonic()
        try:
            scratch_sweep()
        except Exception:  # the database not there yet: the cluster waits for it too
            log.exception("sweeping the scratch space failed")
        asked: list[int] = []
        signal.signal(signal.SIGTERM, lambda signum, frame: asked.append(signum))
        signal.signal(signal.SIGINT, lambda signum, frame: asked.append(signum))
        cluster = ChildProcess(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "qcluster"],
            cwd=settings.BASE_DIR, stdout=None, stderr_lines=None, own_group=True,
            # Should this process be killed outright, the cluster is asked to stop as
            # it would be here.
            death_signal=signal.SIGTERM, stop_grace=grace)
        while not asked and cluster.poll() is None:
            time.sleep(0.1)
            if time.monotonic() - swept > SWEEP_EVERY:
                swept = time.monotonic()
                try:
                    scratch_sweep()
                except Exception:  # the database away for a moment: next hour
                    log.exception("sweeping the scratch space failed")
        # SIGTERM to the cluster's parent alone; after the grace its whole group is killed.
        # Once it exits, whatever is left of its group is killed too (after a clean stop,
        # nothing) before it is reaped, while the group id is still ours.
        if asked and not cluster.stop():
            log.warning("the worker did not stop within %s s; it was killed", grace)
        code = cluster.wait()
        if not asked and code != 0:
            sys.exit(f"the worker exited with status {code}")
