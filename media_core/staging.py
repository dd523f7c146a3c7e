"""Where resumable uploads grow before they are whole, and how they reach storage.

UPLOAD_STAGING=disk: one file per upload in UPLOAD_STAGING_DIR, appended to by each
request; the web servers must share that folder.

UPLOAD_STAGING=storage: each request's bytes become one object in media storage,
`uploads/{upload}/parts/{offset}`, written before the upload's offset moves on (the
request holds the writer claim). Any web server can take the next request, as tusd's S3
store allows. The last request joins the parts into the original: on S3 a multipart
upload copies the parts inside the bucket (UploadPartCopy), gathering the small ones
into parts of at least 5 MiB as S3 asks; elsewhere the parts are read back in order.
Parts a crashed request left beside the chain of offsets are never read, and go with
the upload's folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files import File
from storages.utils import clean_name

from media_core.storage import delete_tree, list_tree, media_storage, move_into

MIN_PART = 5 * 1024 * 1024  # S3's smallest multipart part but the last


def staged_path(upload_id: str) -> Path:
    return settings.UPLOAD_STAGING_DIR / upload_id


def _in_storage() -> bool:
    return settings.UPLOAD_STAGING == "storage"


def open_for_append(upload_id: str, offset: int):
    """The staged file positioned at `offset`; anything past it (a crashed writer's
    unrecorded bytes) is cut off first. In storage: a piece starting at `offset`,
    stored as its own object when closed."""
    if _in_storage():
        return _Piece(upload_id, offset)
    settings.UPLOAD_STAGING_DIR.mkdir(parents=True, exist_ok=True)
    handle = open(os.open(staged_path(upload_id), os.O_RDWR | os.O_CREAT, 0o666), "r+b")
    # Only when the size is wrong: ext4 flushes a file truncated to 0 when it is closed
    # (auto_da_alloc), which cost a 2 GiB upload about a second at its end.
    if os.fstat(handle.fileno()).st_size != offset:
        handle.truncate(offset)
    handle.seek(offset)
    return handle


def _part_name(upload_id: str, offset: int) -> str:
    return f"uploads/{upload_id}/parts/{offset:020d}"


class _Piece:
    """One request's bytes, spooled on this machine's disk while they arrive, then
    stored as the part at `offset` (an empty piece stores nothing)."""

    def __init__(self, upload_id: str, offset: int):
        self.name = _part_name(upload_id, offset)
        self.offset = offset
        settings.PROCESSING_TMP_DIR.mkdir(parents=True, exist_ok=True)
        self.file = tempfile.TemporaryFile(dir=settings.PROCESSING_TMP_DIR)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, data) -> int:
        return self.file.write(data)

    def truncate(self, size: int) -> None:
        self.file.truncate(max(size - self.offset, 0))
        self.file.seek(0, os.SEEK_END)

    def close(self) -> None:
        try:
            if self.file.seek(0, os.SEEK_END):
                self.file.seek(0)
                storage = media_storage()
                if storage.exists(self.name):  # a crashed request's: this one replaces it
                    storage.delete(self.name)
                storage.save(self.name, File(self.file, name="part"))
        finally:
            self.file.close()


def master_name(upload_id: str) -> str:
    # Each attempt gets its own name: storage may overwrite, and a losing attempt must
    # only ever remove its own bytes.
    return f"uploads/{upload_id}/master-{secrets.token_hex(8)}"


def move_to_storage(upload_id: str) -> str:
    """Hand the whole staged file to media storage; returns its storage name."""
    storage = media_storage()
    name = master_name(upload_id)
    if _in_storage():
        return _join_parts(upload_id, name)
    source = staged_path(upload_id)
    if move_into(storage, source, name):
        return name
    with open(source, "rb") as fh:
        name = storage.save(name, File(fh, name="master"))
    source.unlink(missing_ok=True)
    return name


def _chain(upload_id: str) -> list[tuple[str, int]]:
    """The parts that make the file, in order: from offset 0, each part starting where
    the one before it ends. Raises OSError when one is missing."""
    storage = media_storage()
    starts = {int(n.rsplit("/", 1)[1]): n for n in list_tree(f"uploads/{upload_id}/parts")}
    chain, offset = [], 0
    while offset in starts:
        size = storage.size(starts[offset])
        if size == 0:
            break
        chain.append((starts[offset], size))
        offset += size
    if not chain:
        raise OSError(f"upload {upload_id} has no stored parts")
    return chain


def _join_parts(upload_id: str, name: str) -> str:
    storage = media_storage()
    chain = _chain(upload_id)
    if hasattr(storage, "bucket"):
        _join_in_bucket(storage, chain, name)
    else:
        with tempfile.TemporaryFile(dir=settings.PROCESSING_TMP_DIR) as whole:
            for part, _ in chain:
                with storage.open(part, "rb") as fh:
                    shutil.copyfileobj(fh, whole, 1024 * 1024)
            whole.seek(0)
            name = storage.save(name, File(whole, name="master"))
    delete_tree(f"uploads/{upload_id}/parts")  # the chain, and any part beside it
    return name


def _join_in_bucket(storage, chain: list[tuple[str, int]], name: str) -> None:
    """A multipart upload of the parts copied inside the bucket (UploadPartCopy, by byte
    range where needed). Bytes too few for a part of their own (S3 asks 5 MiB of every
    part but the last) are gathered through this process, never more than 10 MiB."""
    client = storage.connection.meta.client
    bucket = storage.bucket_name
    key = storage._normalize_name(clean_name(name))
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    tags: list[str] = []
    pending = b""

    def number() -> int:
        return len(tags) + 1

    def read(source: str, start: int, end: int) -> bytes:  # end exclusive
        body = client.get_object(Bucket=bucket, Key=source, Range=f"bytes={start}-{end - 1}")
        return body["Body"].read()

    try:
        for index, (part, size) in enumerate(chain):
            source = storage._normalize_name(clean_name(part))
            last = index == len(chain) - 1
            start = 0
            if pending:  # fill the gathered bytes up to a part, from this one
                take = min(MIN_PART - len(pending), size)
                pending += read(source, 0, take)
                start = take
                if len(pending) >= MIN_PART:
                    tags.append(client.upload_part(
                        Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number(),
                        Body=pending)["ETag"])
                    pending = b""
            rest = size - start
            if rest <= 0:
                continue
            if rest >= MIN_PART or (last and not pending):
                tags.append(client.upload_part_copy(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number(),
                    CopySource={"Bucket": bucket, "Key": source},
                    CopySourceRange=f"bytes={start}-{size - 1}")["CopyPartResult"]["ETag"])
            else:
                pending += read(source, start, size)
        if pending:
            tags.append(client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                                           PartNumber=number(), Body=pending)["ETag"])
        client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id,
            MultipartUpload={"Parts": [{"ETag": tag, "PartNumber": i + 1}
                                       for i, tag in enumerate(tags)]})
    except Exception:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


def staged_bytes(upload_id: str) -> int:
    """How many bytes are staged for an upload (parts beside the chain included)."""
    if _in_storage():
        storage = media_storage()
        return sum(storage.size(n) for n in list_tree(f"uploads/{upload_id}/parts"))
    path = staged_path(upload_id)
    return path.stat().st_size if path.exists() else 0


def discard(upload_id: str) -> None:
    staged_path(upload_id).unlink(missing_ok=True)
    delete_tree(f"uploads/{upload_id}")
