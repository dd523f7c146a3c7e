"""Short-lived path tokens for everything a master playlist leads to.

A child URL looks like /v/{playback_id}/s/{expires}/{signature}/{storage prefix}/{file}
and the signature is nginx's secure_link_md5 of "{expires}{playback_id}/{prefix} {secret}"
(base64url, no padding). Relative URLs inside media playlists keep the path, so every
segment inherits the token; nginx can check it with no call to the platform.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings


def signature(*, playback_id: str, prefix: str, expires: int) -> str:
    material = f"{expires}{playback_id}/{prefix} {settings.PLAYBACK_PATH_SECRET}".encode()
    return base64.urlsafe_b64encode(hashlib.md5(material).digest()).decode().rstrip("=")


def child_base(*, playback_id: str, prefix: str, expires: int) -> str:
    sig = signature(playback_id=playback_id, prefix=prefix, expires=expires)
    return f"/v/{playback_id}/s/{expires}/{sig}/{prefix}"


def valid(*, playback_id: str, prefix: str, expires: str, sig: str) -> bool:
    if not expires.isdigit() or int(expires) < time.time():
        return False
    expected = signature(playback_id=playback_id, prefix=prefix, expires=int(expires))
    return hmac.compare_digest(expected, sig)
