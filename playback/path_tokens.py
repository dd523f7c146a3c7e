"""Short-lived path tokens for everything a master playlist leads to.

A child URL looks like /v/{playback_id}/s/{expires}/{signature}/{storage prefix}/{file}
and the signature is nginx's secure_link_md5 of "{expires}{playback_id}/{prefix} {secret}"
(base64url, no padding). Relative URLs inside media playlists keep the path, so every
segment inherits the token; nginx can check it with no call to the platform.

A token never reaches more than MAX_SECONDS ahead, the most the platform hands out: one
that does was not made by the platform, and is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings

# The longest a child URL lives: a viewer who opened the master in time finishes the
# longest video (playback/views.py). Tokens reaching further ahead are refused.
MAX_SECONDS = 24 * 3600
# Servers' clocks differ a little: a token made on one is checked on another.
_CLOCK_SKEW_SECONDS = 300


def signature(*, playback_id: str, prefix: str, expires: int) -> str:
    material = f"{expires}{playback_id}/{prefix} {settings.PLAYBACK_PATH_SECRET}".encode()
    return base64.urlsafe_b64encode(hashlib.md5(material).digest()).decode().rstrip("=")


def child_base(*, playback_id: str, prefix: str, expires: int) -> str:
    sig = signature(playback_id=playback_id, prefix=prefix, expires=expires)
    return f"/v/{playback_id}/s/{expires}/{sig}/{prefix}"


def valid(*, playback_id: str, prefix: str, expires: str, sig: str) -> bool:
    if not expires.isdigit():
        return False
    now = time.time()
    if not now <= int(expires) <= now + MAX_SECONDS + _CLOCK_SKEW_SECONDS:
        return False
    expected = signature(playback_id=playback_id, prefix=prefix, expires=int(expires))
    return hmac.compare_digest(expected, sig)
