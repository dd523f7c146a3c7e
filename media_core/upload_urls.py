"""Upload URLs carry their own authority: an HMAC over the upload id and its expiry.

Nothing secret is stored; the URL stops working when the upload leaves `waiting` or
its expiry passes, and a changed SECRET_KEY invalidates every outstanding URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.conf import settings

from media_core.models import Upload


def upload_token(upload: Upload) -> str:
    message = f"upload:{upload.id}:{int(upload.expires_at.timestamp())}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def upload_token_valid(upload: Upload, token: str) -> bool:
    return hmac.compare_digest(upload_token(upload), token or "")


def upload_url(upload: Upload) -> str:
    return f"{settings.PUBLIC_BASE_URL}/upload/{upload.id}/{upload_token(upload)}"
