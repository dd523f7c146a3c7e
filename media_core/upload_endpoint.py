"""The upload URL: takes the whole file by one PUT, streamed to storage.

No API key: the URL's token is the authority. The body is copied to storage in chunks
(Django spools large bodies to disk, never to memory) and counted against the limit.
"""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.core.files import File
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from foundation.api.problems import problem_response
from foundation.context import Actor
from foundation.errors import InvalidTransition
from media_core.models import Upload
from media_core.services.uploads import upload_complete
from media_core.storage import media_storage
from media_core.upload_urls import upload_token_valid

log = logging.getLogger("kino.uploads")
CHUNK = 1024 * 1024


class TooLarge(Exception):
    pass


class _LimitedReader:
    """Reads the request body, refusing to go past the size limit."""

    def __init__(self, request, limit: int):
        self.request = request
        self.limit = limit
        self.size = 0

    def read(self, n: int = CHUNK) -> bytes:
        data = self.request.read(n if n and n > 0 else CHUNK)
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge()
        return data


def _cors(response: HttpResponse, request, upload: Upload | None) -> HttpResponse:
    origin = request.headers.get("Origin")
    if upload and origin and upload.cors_origin in ("*", origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "PUT, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type, Content-Length"
        response["Access-Control-Max-Age"] = "600"
        response["Vary"] = "Origin"
    return response


@csrf_exempt
def upload_file(request, upload_id: str, token: str):
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None or not upload_token_valid(upload, token):
        return problem_response(status=404, code="not_found", title="Not found",
                                detail="No such upload URL.")
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), request, upload)
    if request.method != "PUT":
        response = problem_response(status=405, code="method_not_allowed", title="Method not allowed",
                                    detail="Send the file with PUT.")
        response["Allow"] = "PUT, OPTIONS"
        return _cors(response, request, upload)
    return _cors(_receive(request, upload), request, upload)


def _receive(request, upload: Upload) -> HttpResponse:
    if upload.status != Upload.Status.WAITING:
        return problem_response(status=409, code="upload_not_waiting", title="Upload closed",
                                detail=f"This upload is {upload.status}; it takes no more bytes.")
    if upload.expires_at <= timezone.now():
        return problem_response(status=410, code="upload_expired", title="Upload URL expired",
                                detail="This upload URL has expired; create a new upload.")
    limit = settings.UPLOAD_MAX_BYTES
    declared = request.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        return problem_response(status=413, code="file_too_large", title="File too large",
                                detail=f"The largest accepted file is {limit} bytes.")
    storage = media_storage()
    reader = _LimitedReader(request, limit)
    # Each attempt writes under its own name: storage may overwrite (S3), and a refused
    # or losing attempt must remove only its own bytes, never a concurrent winner's.
    name = f"uploads/{upload.id}/master-{secrets.token_hex(8)}"
    try:
        name = storage.save(name, File(reader, name="master"))
    except TooLarge:
        _discard(storage, name)
        return problem_response(status=413, code="file_too_large", title="File too large",
                                detail=f"The largest accepted file is {limit} bytes.")
    except OSError:
        log.exception("storing upload %s failed", upload.id)
        _discard(storage, name)
        return problem_response(status=500, code="storage_failed", title="Upload not stored",
                                detail="The file could not be stored; send it again.")
    if reader.size == 0:
        # An empty body is a client or proxy mistake; it must not use up the upload.
        _discard(storage, name)
        return problem_response(status=400, code="empty_body", title="Empty upload",
                                detail="The request body was empty; send the file.")
    try:
        asset = upload_complete(upload_id=upload.id, master_name=name, size=reader.size,
                                actor=Actor(kind="upload_url", id=upload.id, label="upload URL"))
    except InvalidTransition:
        storage.delete(name)
        upload.refresh_from_db()
        return problem_response(status=409, code="upload_not_waiting", title="Upload closed",
                                detail=f"This upload is {upload.status}; it takes no more bytes.")
    return JsonResponse({"upload_id": upload.id, "status": Upload.Status.ASSET_CREATED,
                         "asset_id": asset.id, "size": reader.size}, status=200)


def _discard(storage, name: str) -> None:
    """Remove what an interrupted save left behind (a partial file)."""
    try:
        storage.delete(name)
    except OSError:
        log.warning("could not remove the partial upload %s", name)
