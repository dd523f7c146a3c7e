"""The platform as it runs: a daphne web server and a qcluster worker, as processes.

They share the test database (committed data: transactional_db) and the test's media
folder. Requests go over real HTTP.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from .live import free_port as _free_port
from .live import live_env

ROOT = Path(__file__).resolve().parents[2]


def files_under(folder: Path) -> list[str]:
    """Every file below `folder`, by its path relative to it: what a process left on disk."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class Platform:
    base_url: str
    env: dict
    log_dir: Path
    web: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.log_dir / log_name, "ab")
        return subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_web(self) -> None:
        port = self.base_url.rsplit(":", 1)[1]
        self.web = self._spawn([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", port,
                                "config.asgi:application"], "web.log")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.base_url}/api/v1/schema/", timeout=2)
                return
            except (requests.ConnectionError, requests.Timeout):  # a busy machine answers late
                time.sleep(0.1)
        raise RuntimeError("the web server did not start:\n" + self.log("web.log"))

    def start_worker(self) -> subprocess.Popen:
        worker = self._spawn([sys.executable, "manage.py", "qcluster"], "worker.log")
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: subprocess.Popen) -> None:
        """SIGKILL the worker's whole process tree at once, as a crash or OOM would."""
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    def log(self, name: str) -> str:
        path = self.log_dir / name
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM every process at once, then SIGKILL what is still running after 1.5 s:
        the test is over, so nothing they might still finish matters."""
        running = [p for p in [*self.workers, self.web] if p is not None and p.poll() is None]
        for proc in running:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 1.5
        for proc in running:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)


@pytest.fixture
def platform(request, transactional_db, media_root, bucket, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(media_root),
        "VAR_DIR": str(tmp_path / "var"),
        "PROCESSING_TMP_DIR": str(tmp_path / "work"),
        "UPLOAD_STAGING_DIR": str(tmp_path / "staging"),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "Q_CLUSTER_NAME": settings.Q_CLUSTER["name"],
        "WORKERS": "1",
        "PROCESSING_LEASE_SECONDS": "3",
        "SECRET_KEY": settings.SECRET_KEY,
        # The same path-token secret as this process, so tests can make and check child URLs.
        "PLAYBACK_PATH_SECRET": settings.PLAYBACK_PATH_SECRET,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the platform's own, under its VAR_DIR
    if bucket is not None:  # a test marked `storage`, in its S3 round
        from tests import s3_server

        env.update(s3_server.environment(bucket))
    if request.node.get_closest_marker("live"):
        env.update(live_env(tmp_path))
    if (extra := request.node.get_closest_marker("platform_env")) is not None:
        env.update(extra.kwargs)
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    running = Platform(base_url=f"http://127.0.0.1:{port}", env=env, log_dir=log_dir)
    try:
        running.start_web()
        yield running
    finally:
        running.stop()
