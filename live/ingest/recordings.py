"""Recordings leave the node by the node's own hand.

nginx-rtmp writes each publish session's recording under LIVE_DIR/rec and tells the
platform when the file is complete. The platform's answer to every report then names
the node's finished files and where each goes in media storage, or that nobody needs
it. The node stores each one (in the background, a few at once), removes it from its
disk, and says so in its next report; only then does the platform join the run's
recordings, reading them from storage. So no other machine ever reads this node's disk.

Nothing is lost to a crash: a file leaves the disk only once stored; the platform names
it in every answer until a report says it is done; a file stored by a node that died
before it could report is found in storage when the restarted node is asked again.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor

from botocore.exceptions import BotoCoreError, ClientError

from media_core.storage import media_storage, store_file

from .config import IngestLayout

log = logging.getLogger("kino.live.ingest")
PUSHES_AT_ONCE = 2


class Recordings:
    def __init__(self, where: IngestLayout, *, at_once: int = PUSHES_AT_ONCE):
        self.where = where
        self.pool = ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="recording")
        self.running: dict[str, Future] = {}
        self.done: dict[str, dict] = {}

    def reconcile(self, specs: list[dict]) -> None:
        """The platform's list of this node's finished recordings: start on each new one;
        forget what is done and no longer listed (the platform has heard of it)."""
        wanted = {str(spec.get("session", "")): spec for spec in specs
                  if isinstance(spec, dict) and spec.get("session")}
        self.done = {session: done for session, done in self.done.items() if session in wanted}
        for session, spec in wanted.items():
            if session not in self.running and session not in self.done:
                self.running[session] = self.pool.submit(self._handle, session, spec)

    def collect(self) -> bool:
        """Take in the finished pushes; True when any finished (worth reporting now)."""
        finished = [session for session, future in self.running.items() if future.done()]
        for session in finished:
            try:
                self.done[session] = self.running.pop(session).result()
            except (OSError, RuntimeError, BotoCoreError, ClientError):
                # Storage refused or went away: the platform names the file again in its
                # next answer, and it is tried again then.
                log.exception("could not store the recording of session %s", session)
        return bool(finished)

    def reports(self) -> list[dict]:
        return list(self.done.values())

    def _handle(self, session: str, spec: dict) -> dict:
        name = str(spec.get("name") or "")
        path = self.where.own_recording(str(spec.get("path", "")))
        if path is None:
            log.warning("the platform named a recording outside %s", self.where.recordings)
            return {"session": session, "outcome": "missing"}
        if not name:  # the stream does not record: nobody needs the file
            path.unlink(missing_ok=True)
            return {"session": session, "outcome": "discarded"}
        if not path.exists():
            stored = media_storage().exists(name)  # stored before a crash, never reported
            return {"session": session, "outcome": "stored" if stored else "missing",
                    "name": name}
        size, began = path.stat().st_size, time.monotonic()
        if store_file(path, name) != name:
            raise RuntimeError(f"storage kept the recording under another name than {name}")
        path.unlink(missing_ok=True)
        log.info("recording of session %s stored as %s (%d bytes, %.1f s)", session, name,
                 size, time.monotonic() - began)
        return {"session": session, "outcome": "stored", "name": name, "bytes": size}

    def shutdown(self, wait_seconds: float = 0) -> None:
        """Let pushes in hand run for up to `wait_seconds`; what is left is pushed again
        at the next start."""
        deadline = time.monotonic() + wait_seconds
        while self.running and time.monotonic() < deadline:
            self.collect()
            time.sleep(0.05)
        self.collect()
        self.pool.shutdown(wait=False, cancel_futures=True)
