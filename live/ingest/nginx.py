"""This node's nginx-rtmp: its generated config, its process, and its local HTTP port
(statistics, control, live HLS)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings

from foundation.processes import ChildProcess

from . import children, config

log = logging.getLogger("kino.live.ingest")
START_SECONDS = 10


class Nginx:
    def __init__(self, *, platform_url: str, node: str, rtmp_port: int, http_port: int,
                 where: config.IngestLayout, nginx_bin: str):
        self.platform_url = platform_url
        self.node = node
        self.rtmp_port = rtmp_port
        self.http_port = http_port
        self.where = where
        self.nginx_bin = nginx_bin
        self.child: ChildProcess | None = None

    def start(self) -> None:
        self.where.make_dirs()
        self._stop_stale()
        text = config.render(platform_url=self.platform_url, node=self.node,
                             rtmp_port=self.rtmp_port, http_port=self.http_port, where=self.where,
                             hls_port=settings.LIVE_HLS_PORT)
        # The callback URLs carry the ingest secret, the viewers' server the path secret.
        fd = os.open(self.where.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        test = subprocess.run([self.nginx_bin, "-t", "-q", "-p", str(self.where.prefix),
                               "-c", str(self.where.conf)], capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx refused the generated config: {test.stderr.strip()}")
        # nginx's master stops its workers on SIGTERM; SIGKILL would orphan them.
        self.child = children.start([self.nginx_bin, "-p", str(self.where.prefix),
                                     "-c", str(self.where.conf)], death_signal=signal.SIGTERM)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if not self.child.alive():
                raise RuntimeError(f"nginx exited: {self.child.error()}")
            try:
                self.get("/stat", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not answer on its HTTP port within {START_SECONDS} s")

    def _stop_stale(self) -> None:
        """An nginx left by an ingest that was killed holds our ports; stop it."""
        try:
            pid = int(self.where.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            return
        if "nginx" in cmdline and str(self.where.conf) in cmdline.replace("\0", " "):
            log.warning("stopping nginx %s left by an earlier ingest", pid)
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)

    def alive(self) -> bool:
        return self.child is not None and self.child.alive()

    def error(self) -> str:
        return self.child.error() if self.child else ""

    def stop(self) -> None:
        if self.child:
            self.child.stop()

    def get(self, path: str, timeout: float = 2) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}",
                                    timeout=timeout) as resp:
            return resp.read()

    def read_stat(self) -> bytes:
        return self.get("/stat")

    def drop_client(self, app: str, name: str, client_id: str) -> None:
        """Disconnect a publishing encoder; OSError when nginx does not answer."""
        query = urllib.parse.urlencode({"app": app, "name": name, "clientid": client_id})
        self.get(f"/control/drop/client?{query}")
