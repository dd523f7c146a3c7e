"""Media storage through Django's storage API (local files or S3 alike)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages

from foundation.usage import services as usage

CHUNK = 1024 * 1024


def media_storage():
    return storages["default"]


@contextmanager
def local_copy(name: str, folder: Path | None = None) -> Iterator[Path]:
    """A local path to a stored file: the file itself when storage is local, else a copy
    streamed into a temporary folder (inside `folder` when given), removed after."""
    storage = media_storage()
    try:
        yield Path(storage.path(name))
        return
    except NotImplementedError:
        pass
    parent = folder or settings.PROCESSING_TMP_DIR
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent) as tmp:
        target = Path(tmp) / "source"
        with storage.open(name, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        yield target


def put_tree(local_dir: Path, files: list[Path], prefix: str, *, keep: bool = False) -> list[str]:
    """Store `files` (below `local_dir`) under `prefix`. The files are consumed (on local
    storage on the same filesystem they are renamed into place, not copied), unless
    `keep`: then they are linked into place there, and stay."""
    return [store_file(path, f"{prefix}/{path.relative_to(local_dir).as_posix()}", keep=keep)
            for path in files]


def store_file(path: Path, name: str, *, keep: bool = False) -> str:
    """Store a local file under exactly `name`, replacing what is there (S3 uploads big
    files in parts, several at once). The file is consumed: renamed into place on local
    storage on the same filesystem, else left for the caller to remove; with `keep`,
    linked into place there and left."""
    storage = media_storage()
    if move_into(storage, path, name, link=keep):
        return name
    if storage.exists(name) and not getattr(storage, "file_overwrite", False):
        storage.delete(name)  # local storage would otherwise save a renamed copy
    with open(path, "rb") as fh:
        return storage.save(name, File(fh, name=path.name))


def move_into(storage, path: Path, name: str, *, link: bool = False) -> bool:
    """Rename (or, with `link`, hard-link) a local file to storage name `name` when
    storage is local on the same filesystem; False when it must be copied instead."""
    try:
        target = Path(storage.path(name))
    except NotImplementedError:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if link:  # under another name first: a reader never finds the name missing
            linked = target.with_name(f".{target.name}.{os.getpid()}.link")
            linked.unlink(missing_ok=True)
            os.link(path, linked)
            os.replace(linked, target)
        else:
            os.replace(path, target)
    except OSError:  # another filesystem: copy instead
        return False
    return True


def list_tree(prefix: str) -> list[str]:
    storage = media_storage()
    try:
        dirs, files = storage.listdir(prefix)
    except FileNotFoundError:
        return []
    names = [f"{prefix}/{f}" for f in files]
    for d in dirs:
        names.extend(list_tree(f"{prefix}/{d}"))
    return names


def list_children(prefix: str) -> list[str]:
    try:
        dirs, files = media_storage().listdir(prefix)
    except FileNotFoundError:
        return []
    return [f"{prefix}/{d}" for d in dirs] + [f"{prefix}/{f}" for f in files]


def delete_tree(prefix: str) -> int:
    storage = media_storage()
    names = list_tree(prefix)
    for name in names:
        storage.delete(name)
    if storage.__class__.__name__ == "FileSystemStorage":
        # Local storage leaves empty folders behind.
        root = Path(storage.location) / prefix
        if root.is_dir():
            shutil.rmtree(root, ignore_errors=True)
    if names:
        # Every deletion of stored media comes through here (or names its files to
        # storage_forget itself): the usage ledger lets go of what was under the prefix.
        usage.storage_forget(prefix=prefix)
    return len(names)


@dataclass(frozen=True)
class StoredObject:
    name: str
    size: int
    modified: datetime


def walk(prefix: str = "") -> Iterator[StoredObject]:
    """Every object under `prefix` with its size and time, in one listing: a bucket is
    listed a thousand keys a request, never an object at a time."""
    storage = media_storage()
    try:
        root = Path(storage.path(prefix or "."))
    except NotImplementedError:
        yield from _walk_bucket(storage, prefix)
        return
    base = Path(storage.location)
    for folder, _, files in os.walk(root):
        for file in files:
            path = Path(folder) / file
            stat = path.stat()
            yield StoredObject(path.relative_to(base).as_posix(), stat.st_size,
                               datetime.fromtimestamp(stat.st_mtime, tz=UTC))


def _walk_bucket(storage, prefix: str) -> Iterator[StoredObject]:
    location = storage.location.strip("/")
    start = f"{location}/" if location else ""
    for item in storage.bucket.objects.filter(Prefix=start + prefix):
        yield StoredObject(item.key[len(start):], item.size, item.last_modified)
