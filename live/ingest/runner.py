"""The ingest node: nginx-rtmp, SRT listeners, simulcast relays, and the health sampler.

One loop, in the foreground:

- every tick it reads nginx-rtmp's statistics (one local HTTP fetch) and the HLS
  playlists it writes;
- every LIVE_SAMPLE_SECONDS, or at once when something changed (a stream appeared or
  went, a playlist became playable, a relay changed state), it reports to the platform
  and gets back what this node should run;
- it reconciles its child processes with that answer: one FFmpeg SRT listener per
  stream that relays into nginx-rtmp, one FFmpeg relay per (simulcast target, publish
  session), and disconnects the encoders the platform asks it to drop;
- it stores the finished recordings the answer names in media storage (recordings.py)
  and removes them from its disk, and the live HLS of runs that are over.

Children die with this process (PR_SET_PDEATHSIG); they are stopped with SIGTERM, then
SIGKILL; a failed one is restarted with backoff. The loop never talks to the database:
an ingest node needs only the platform's URL and the shared secret.

The parts, one module each: nginx.py (nginx-rtmp's config, process and local HTTP port),
sampler.py (statistics and playlists), report.py (the exchange with the platform),
srt.py (SRT listeners), relays.py (simulcast relays), children.py (how children are
started, stopped and restarted); this module is the loop that ties them together.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time

from django.conf import settings

from . import children, config, relays, report, srt
from .nginx import Nginx
from .recordings import Recordings
from .sampler import Sampler

log = logging.getLogger("kino.live.ingest")
DROP_AGAIN_SECONDS = 3
# On stopping, recordings being stored get this long to finish (and be in the final
# report); what is left is stored at the next start.
STORE_WAIT_SECONDS = 5


class Ingest:
    def __init__(self, *, platform_url: str, node: str, rtmp_port: int, http_port: int,
                 srt_bind: str = "0.0.0.0", nginx_bin: str | None = None):
        self.platform_url = platform_url.rstrip("/")
        self.node = node
        self.rtmp_port = rtmp_port
        self.http_port = http_port
        self.srt_bind = srt_bind
        self.where = config.layout()
        self.nginx = Nginx(platform_url=self.platform_url, node=node, rtmp_port=rtmp_port,
                           http_port=http_port, where=self.where,
                           nginx_bin=nginx_bin or settings.NGINX_BIN)
        self.sampler = Sampler(where=self.where, read_stat=self.nginx.read_stat)
        self.recordings = Recordings(self.where)
        self.srt: dict[int, srt.Listener] = {}
        self.relays: dict[relays.RelayKey, relays.Relay] = {}
        self.dropped: dict[tuple[str, str, str], float] = {}
        self.stopping = threading.Event()
        self.last_report = 0.0
        self.report_now = True

    # --- the loop --------------------------------------------------------------------
    def run(self, tick: float = 0.25) -> None:
        # Nothing publishes here yet: what an earlier run of this node left is over.
        shutil.rmtree(self.where.hls, ignore_errors=True)
        self.nginx.start()
        log.info("ingest %s: RTMP on port %s, HTTP on 127.0.0.1:%s, reporting to %s",
                 self.node, self.rtmp_port, self.http_port, self.platform_url)
        try:
            while not self.stopping.is_set():
                if not self.nginx.alive():
                    log.error("nginx exited: %s; restarting it", self.nginx.error())
                    self.nginx.start()
                try:
                    self.step()
                except Exception:
                    # One bad answer or stat must not take the encoders down with us.
                    log.exception("ingest step failed; going on")
                self.stopping.wait(tick)
        finally:
            self.shutdown()

    def step(self) -> None:
        if self.sampler.sample() or self.recordings.collect():
            self.report_now = True
        due = time.monotonic() - self.last_report >= settings.LIVE_SAMPLE_SECONDS
        if due or self.report_now or relays.changed(self.relays):
            wanted = self.report()
            if wanted is not None:
                self.reconcile(wanted)
            else:
                # Without the platform's answer, keep what runs but restart what failed.
                self._reconcile_relays([r.spec for r in self.relays.values()
                                        if r.state != "stopped"])

    def report(self, *, final: bool = False) -> dict | None:
        relay_reports = relays.reports(self.relays)
        streams = [] if final else self.sampler.stream_reports()
        self.last_report = time.monotonic()
        self.report_now = False
        return report.send(platform_url=self.platform_url, node=self.node, streams=streams,
                           relays=relay_reports, recordings=self.recordings.reports(),
                           final=final)

    # --- reconciling -------------------------------------------------------------------
    def reconcile(self, wanted: dict) -> None:
        self._reconcile_srt(wanted.get("srt", []))
        self._reconcile_relays(wanted.get("simulcast", []))
        self._drop(wanted.get("drop", []))
        self.recordings.reconcile(wanted.get("recordings", []))
        self._clear_ended(wanted.get("ended", []))

    def _reconcile_srt(self, specs: list[dict]) -> None:
        srt.reconcile(self.srt, specs, bind=self.srt_bind, rtmp_port=self.rtmp_port)

    def _reconcile_relays(self, specs: list[dict]) -> None:
        relays.reconcile(self.relays, specs, rtmp_port=self.rtmp_port)

    def _clear_ended(self, ended: list[dict]) -> None:
        """The live HLS of runs that are over (the reconnect window passed) leaves the
        disk; a stream publishing here again meanwhile keeps its folder."""
        publishing = {(stat.app, stat.name) for stat in self.sampler.stats}
        for run in ended:
            app, name = str(run.get("app", "")), str(run.get("name", ""))
            if (app, name) not in publishing and self.where.clear_hls(app, name):
                log.info("removed the live HLS of %s/%s: its run is over", app, name)

    def _drop(self, drops: list[dict]) -> None:
        now = time.monotonic()
        for drop in drops:
            key = (drop.get("app", ""), drop.get("name", ""), drop.get("client_id", ""))
            if now - self.dropped.get(key, 0) < DROP_AGAIN_SECONDS:
                continue
            self.dropped[key] = now
            try:
                self.nginx.drop_client(*key)
                log.info("disconnected the encoder of %s/%s", key[0], key[1])
            except OSError as exc:
                log.warning("could not disconnect %s/%s: %s", key[0], key[1], exc)

    def shutdown(self) -> None:
        # Every FFmpeg child at once, so a node with many relays stops within one grace
        # period rather than one per child; nginx after them, as they talk to it.
        children.stop_all([relay.child for relay in self.relays.values() if relay.child]
                          + [listener.child for listener in self.srt.values() if listener.child])
        for relay in self.relays.values():
            relay.state = "stopped"
        self.nginx.stop()
        self.recordings.shutdown(wait_seconds=STORE_WAIT_SECONDS)
        self.report(final=True)
