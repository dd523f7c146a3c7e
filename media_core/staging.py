"""Where resumable uploads grow before they are whole, and how they reach storage."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.files import File

from media_core.storage import delete_tree, media_storage, move_into


def staged_path(upload_id: str) -> Path:
    return settings.UPLOAD_STAGING_DIR / upload_id


def open_for_append(upload_id: str, offset: int):
    """The staged file positioned at `offset`; anything past it (a crashed writer's
    unrecorded bytes) is cut off first."""
    settings.UPLOAD_STAGING_DIR.mkdir(parents=True, exist_ok=True)
    handle = open(os.open(staged_path(upload_id), os.O_RDWR | os.O_CREAT, 0o666), "r+b")
    # Only when the size is wrong: ext4 flushes a file truncated to 0 when it is closed
    # (auto_da_alloc), which cost a 2 GiB upload about a second at its end.
    if os.fstat(handle.fileno()).st_size != offset:
        handle.truncate(offset)
    handle.seek(offset)
    return handle


def master_name(upload_id: str) -> str:
    # Each attempt gets its own name: storage may overwrite, and a losing attempt must
    # only ever remove its own bytes.
    return f"uploads/{upload_id}/master-{secrets.token_hex(8)}"


def move_to_storage(upload_id: str) -> str:
    """Hand the whole staged file to media storage; returns its storage name."""
    source = staged_path(upload_id)
    storage = media_storage()
    name = master_name(upload_id)
    if move_into(storage, source, name):
        return name
    with open(source, "rb") as fh:
        name = storage.save(name, File(fh, name="master"))
    source.unlink(missing_ok=True)
    return name


def discard(upload_id: str) -> None:
    staged_path(upload_id).unlink(missing_ok=True)
    delete_tree(f"uploads/{upload_id}")
