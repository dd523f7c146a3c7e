"""Opaque, prefixed public identifiers.

An ID is ``<prefix>_<26 chars>``: 48 bits of millisecond time followed by 80 random
bits, in lowercase Crockford base32. The prefix tells a support person what kind of
object it is; the time part makes IDs sort by creation, so lists and cursors can order
by the primary key alone. Nothing about them is sequential or guessable.
"""

from __future__ import annotations

import functools
import re
import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
ID_LENGTH = 26

PREFIXES = {
    "upl": "upload",
    "ast": "asset",
    "pbk": "playback_id",
    "lvs": "live_stream",
    "smt": "simulcast_target",
    "lss": "live_session",
    "evt": "event",
    "whe": "webhook_endpoint",
    "whd": "webhook_delivery",
    "sgk": "signing_key",
    "job": "processing_job",
    "ren": "rendition",
    "trk": "text_track",
    "key": "api_key",
    "env": "environment",
    "aud": "audit_entry",
}

_CHAR = "[0-9a-hjkmnp-tv-z]"  # _ALPHABET
_ID_RE = re.compile(rf"^([a-z]{{3}})_({_CHAR}{{{ID_LENGTH}}})$")


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


_RANDOM_BITS = 80
_lock = threading.Lock()
_last = [0, 0]  # the millisecond and random part of the latest id made here


def new_id(prefix: str) -> str:
    """A new id, later than any this process made before.

    Within one millisecond (or if the clock steps back) the random part grows by a
    random step instead of being drawn afresh, so ids keep their creation order and
    still cannot be guessed from one another. Across processes, ids of the same
    millisecond order arbitrarily.
    """
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis > _last[0]:
            rand = secrets.randbits(_RANDOM_BITS)
        else:
            millis = _last[0]
            rand = _last[1] + 1 + secrets.randbits(32)
            if rand >= 1 << _RANDOM_BITS:
                millis += 1
                rand = secrets.randbits(_RANDOM_BITS - 1)
        _last[0], _last[1] = millis, rand
    return f"{prefix}_{_encode((millis << _RANDOM_BITS) | rand, ID_LENGTH)}"


def kind_of(public_id: str) -> str | None:
    match = _ID_RE.match(public_id or "")
    if not match:
        return None
    return PREFIXES.get(match.group(1))


def looks_like(public_id: str, prefix: str) -> bool:
    match = _ID_RE.match(public_id or "")
    return bool(match) and match.group(1) == prefix


def id_pattern(prefix: str) -> str:
    """What `looks_like(x, prefix)` accepts, as a regular expression (for API schemas)."""
    return rf"^{prefix}_{_CHAR}{{{ID_LENGTH}}}$"


def id_default(prefix: str) -> functools.partial:
    """A model field default; migrations serialize a partial of a module function."""
    return functools.partial(new_id, prefix)
