"""Uploads staged in media storage: each request's bytes one part, joined when whole; in
a bucket the parts are copied inside it, gathered where S3 wants 5 MiB a part."""

from __future__ import annotations

import os

import pytest

from media_core import staging
from media_core.storage import list_tree, media_storage

pytestmark = pytest.mark.django_db


def stage(upload_id: str, pieces: list[bytes]) -> bytes:
    offset = 0
    for piece in pieces:
        with staging.open_for_append(upload_id, offset) as fh:
            fh.write(piece)
        offset += len(piece)
    return b"".join(pieces)


@pytest.mark.parametrize("media_backend", ["local", "s3"], indirect=True)
@pytest.mark.parametrize("sizes", [
    [300_000],                                        # one small request
    [6 * 2**20, 1 * 2**20, 6 * 2**20, 2 * 2**20],     # big, small, big, small last
    [2**20, 2**20, 7 * 2**20, 3 * 2**20],             # small ones gathered into a part
], ids=["one", "mixed", "gathered"])
def test_the_parts_join_into_the_original_byte_for_byte(settings, media_backend, sizes):
    settings.UPLOAD_STAGING = "storage"
    expected = stage("upl_join", [os.urandom(n) for n in sizes])

    name = staging.move_to_storage("upl_join")

    with media_storage().open(name, "rb") as fh:
        assert fh.read() == expected
    assert list_tree("uploads/upl_join/parts") == []


@pytest.mark.parametrize("media_backend", ["s3"], indirect=True)
def test_a_part_a_crashed_request_left_beside_the_chain_is_never_read(settings, media_backend):
    settings.UPLOAD_STAGING = "storage"
    first = stage("upl_crash", [b"a" * 1000])
    # A request at 1000 stored 800 bytes and died before the offset moved; its retry sent
    # 500 bytes at 1000, and the last request continued at 1500.
    with staging.open_for_append("upl_crash", 1000) as fh:
        fh.write(b"x" * 800)
    with staging.open_for_append("upl_crash", 1000) as fh:
        fh.write(b"b" * 500)
    with staging.open_for_append("upl_crash", 1800) as fh:  # beside the chain
        fh.write(b"z" * 100)
    with staging.open_for_append("upl_crash", 1500) as fh:
        fh.write(b"c" * 200)

    name = staging.move_to_storage("upl_crash")

    with media_storage().open(name, "rb") as fh:
        assert fh.read() == first + b"b" * 500 + b"c" * 200
    assert list_tree("uploads/upl_crash/parts") == []
