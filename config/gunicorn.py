"""gunicorn's settings for the platform's HTTP server, behind nginx (deploy/nginx/site.conf.template).

    gunicorn -c config/gunicorn.py config.wsgi [--bind 127.0.0.1:8000]

Used by bin/run-prod and deploy/systemd/kino-web.service. WEB_WORKERS sets the number of
worker processes, WEB_THREADS the threads of each.
"""

from __future__ import annotations

import multiprocessing
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

bind = ["127.0.0.1:8000"]
# gunicorn's own rule of thumb for a machine that does little else; the workers share
# it with the task workers, so a machine that also encodes may want fewer.
workers = int(os.environ.get("WEB_WORKERS") or 2 * multiprocessing.cpu_count() + 1)
# Threaded workers: a request that takes long (the last PATCH of an upload, moving the file
# into media storage) neither blocks its process nor stops its heartbeat, so --timeout
# never kills a worker in the middle of one. nginx takes request bodies whole and buffers
# answers, so a slow client never holds a thread.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS") or 4)
# Longer than nginx keeps an idle upstream connection (60 s): nginx, not gunicorn, closes
# it, so nginx never sends a request down a connection gunicorn is closing (a 502).
keepalive = 75
# On SIGTERM, requests in hand get this long to finish.
graceful_timeout = 25
# Off: the platform logs every request itself (kino.request) with the credentials in URLs
# redacted; gunicorn's access log would write them out in full.
accesslog = None
# No control socket: its default path is one per user, which every gunicorn of that user
# (a second site, a benchmark) would take from the one before.
control_socket_disable = True


def on_starting(server):
    # Settings name the metrics folder and put it in the environment, which the workers
    # inherit; the master only needs the name, to clear a dead worker's files.
    from django.conf import settings

    server.metrics_dir = str(settings.METRICS_DIR)


def child_exit(server, worker):
    # Every process writes its metrics to files of its own (prometheus-client's
    # multiprocess mode); a dead worker's gauges must stop counting in /metrics.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, server.metrics_dir)
