"""Reading delivery logs into the daily counters: the platform's own (delivery_log.py)
and, when `NGINX_ACCESS_LOG` is set, nginx's, both in one line format.

Each log is read from where the last reading stopped: its cursor holds the file's inode
and the offset of the next line. The counters and the cursor move in one transaction,
and the cursor only from where this reading started (a compare-and-swap), so a line is
counted once even if two readings overlap; a lock file keeps readings of one machine from
doing the work twice. A file renamed away (rotated) is read to its end before its
successor, once it has been quiet for QUIET_SECONDS; a file truncated in place is read
again from its start.

Only successful responses (2xx) under /v/ count (and downloads logged under nginx's
internal location, DOWNLOAD_ACCEL_PREFIX). A line names the playback ID it was
for (and, in a child URL, the asset or live stream): the first of them that the app
owning it registered (`register_owner`) maps it to its environment. Playback IDs are
deleted with what they play, so the asset or stream in the path is the fallback.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import secrets
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from django.conf import settings
from django.db import models, transaction

from .models import DeliveryLogCursor, Metric
from .services import counter_add

log = logging.getLogger("kino.usage")

CHUNK_BYTES = 4 * 1024 * 1024
MAX_CHUNKS = 64  # per reading: a backlog is worked off over several minutes
QUIET_SECONDS = 5.0
ROTATE_BYTES = 64 * 1024 * 1024  # the platform's own log is rotated past this, once read

_ID = re.compile(rb"\b([a-z]{3})_[0-9a-z]{26}\b")
_owners: dict[str, type[models.Model]] = {}  # id prefix -> model with environment_id
_known: dict[bytes, str] = {}  # id -> environment id (which never changes)


def register_owner(prefix: str, model: type[models.Model]) -> None:
    """Delivery of the objects with this id prefix counts for their `environment_id`.
    Called by the app that owns the model, from its AppConfig.ready()."""
    _owners[prefix] = model


@dataclass
class Chunk:
    inode: int
    offset: int  # where the next reading starts
    lines: list[bytes] = field(default_factory=list)
    more: bool = False


def _read(path: Path, inode: int, offset: int) -> Chunk | None:
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_ino != inode:
                return None  # replaced since it was looked at: next time
            fh.seek(offset)
            data = fh.read(CHUNK_BYTES)
    except FileNotFoundError:
        return None
    end = data.rfind(b"\n")
    if end < 0:
        if len(data) == CHUNK_BYTES:  # no line is this long: skip the garbage
            return Chunk(inode, offset + len(data), more=True)
        return None  # nothing, or a line still being written
    return Chunk(inode, offset + end + 1, data[:end].split(b"\n"), more=len(data) == CHUNK_BYTES)


def _rotated(path: Path, inode: int) -> Path | None:
    candidate = path.with_name(path.name + ".1")
    try:
        return candidate if candidate.stat().st_ino == inode else None
    except FileNotFoundError:
        return None


def next_chunk(path: Path, inode: int, offset: int) -> Chunk | None:
    """What to count next from the log at `path`, read so far up to (inode, offset); None
    when there is nothing new."""
    try:
        current = path.stat()
    except FileNotFoundError:
        current = None
    if inode == 0:  # never read
        return None if current is None else Chunk(current.st_ino, 0, more=True)
    if current is not None and current.st_ino == inode:
        return _read(path, inode, 0 if current.st_size < offset else offset)
    old = _rotated(path, inode)
    if old is not None:
        chunk = _read(old, inode, offset)
        if chunk is not None and chunk.offset != offset:
            return chunk
        try:
            if time.time() - old.stat().st_mtime < QUIET_SECONDS:
                return None  # a writer may still be appending to it
        except FileNotFoundError:
            pass
    elif current is not None:
        log.warning("delivery log %s was replaced and its predecessor is gone; lines it "
                    "held after offset %s are not counted", path, offset)
    return None if current is None else Chunk(current.st_ino, 0, more=True)


def _owner_of(ids: list[bytes], found: dict[bytes, str]) -> str | None:
    return next((found[i] for i in ids if i in found), None)


def tally(lines: list[bytes]) -> tuple[dict[tuple[str, date], int], int]:
    """Bytes per (environment, day) of these log lines, and the bytes no environment
    could be found for."""
    counted: list[tuple[list[bytes], date, int]] = []
    # A download nginx sends for the platform (X-Accel-Redirect) may be logged under the
    # internal location it was redirected to; nginx logs a request once either way.
    delivery = (b"/v/", *([settings.DOWNLOAD_ACCEL_PREFIX.encode()]
                         if settings.DOWNLOAD_ACCEL_PREFIX else []))
    for line in lines:
        parts = line.split(b" ", 4)
        if len(parts) != 5 or not parts[4].startswith(delivery):
            continue
        try:
            status, size = int(parts[1]), int(parts[2])
            day = datetime.fromtimestamp(float(parts[0]), UTC).date()
        except (ValueError, OverflowError, OSError):
            continue
        if 200 <= status <= 299 and size > 0:
            ids = [m.group(0) for m in _ID.finditer(parts[4])]
            ids.sort(key=lambda i: not i.startswith(b"pbk_"))  # the playback ID first
            counted.append((ids, day, size))
    wanted: dict[str, set[str]] = defaultdict(set)
    for ids, _, _ in counted:
        for i in ids:
            if i not in _known and i[:3].decode() in _owners:
                wanted[i[:3].decode()].add(i.decode())
    for prefix, ids in wanted.items():
        rows = _owners[prefix]._default_manager.filter(pk__in=ids).values_list(
            "pk", "environment_id")
        if len(_known) > 100_000:  # a bound on memory, not a cache policy
            _known.clear()
        _known.update((pk.encode(), environment_id) for pk, environment_id in rows)
    sums: dict[tuple[str, date], int] = defaultdict(int)
    unknown = 0
    for ids, day, size in counted:
        environment_id = _owner_of(ids, _known)
        if environment_id is None:
            unknown += size
        else:
            sums[environment_id, day] += size
    return sums, unknown


def _state_dir() -> Path:
    # Beside the platform's own log: a folder of this machine's, writable by the platform.
    return Path(settings.DELIVERY_LOG).parent


def _reader_id() -> str:
    """This machine's name for its logs (kept beside them): each machine reads its own."""
    path = _state_dir() / "usage-reader-id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole, then linked into place: another process never reads half a name,
    # and the first link made is the name every process keeps.
    draft = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}")
    draft.write_text(secrets.token_hex(6))
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


@contextmanager
def _locked(name: str) -> Iterator[None]:
    path = _state_dir() / f"usage-{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # the other reading is short: wait for it
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def delivery_logs() -> list[tuple[str, Path]]:
    logs = [("platform", Path(settings.DELIVERY_LOG))]
    if settings.NGINX_ACCESS_LOG:
        logs.append(("nginx", Path(settings.NGINX_ACCESS_LOG)))
    return logs


def ingest_log(name: str, path: Path) -> int:
    """Count what is new in one log; returns the bytes counted."""
    source = f"{name}@{_reader_id()}"
    counted = 0
    with _locked(name):
        for _ in range(MAX_CHUNKS):
            cursor, _ = DeliveryLogCursor.objects.get_or_create(source=source)
            chunk = next_chunk(path, cursor.inode, cursor.offset)
            if chunk is None:
                break
            sums, unknown = tally(chunk.lines)
            if unknown:
                log.warning("%s bytes in %s were for playback IDs no environment has", unknown,
                            path)
            with transaction.atomic():
                moved = DeliveryLogCursor.objects.filter(
                    source=source, inode=cursor.inode, offset=cursor.offset,
                ).update(inode=chunk.inode, offset=chunk.offset)
                if not moved:  # read meanwhile by a process that shares this folder
                    break
                for (environment_id, day), size in sums.items():
                    counter_add(environment_id=environment_id, metric=Metric.DELIVERY_BYTES,
                                amount=size, day=day)
            counted += sum(sums.values())
            if not chunk.more:
                break
        if name == "platform":
            _rotate_when_read(path, source)
    return counted


def _rotate_when_read(path: Path, source: str) -> None:
    """Rename the platform's own log away once it is large and entirely counted; writers
    open a new one within delivery_log.REOPEN_SECONDS, and lines they add to the old one
    meanwhile are read from it before its successor (next_chunk)."""
    try:
        current = path.stat()
    except FileNotFoundError:
        return
    if current.st_size < ROTATE_BYTES:
        return
    cursor = DeliveryLogCursor.objects.filter(source=source).first()
    if cursor is not None and (cursor.inode, cursor.offset) == (current.st_ino, current.st_size):
        os.replace(path, path.with_name(path.name + ".1"))


def ingest_delivery_logs() -> dict[str, int]:
    """Count what is new in every delivery log of this machine: bytes counted per log."""
    return {name: ingest_log(name, path) for name, path in delivery_logs()}
