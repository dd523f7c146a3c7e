"""The upload URL: takes a file by one PUT, or resumably by the tus 1.0.0 protocol.

No API key: the URL's token is the authority. tus support: core (HEAD, PATCH),
creation, creation-with-upload, expiration, checksum (sha1, md5, sha256) and
termination. Bytes are appended to a staged file as they arrive, never held whole in
memory; the database records how many are stored, and only the request holding the
upload's writer claim may add to it, so two requests racing at one offset cannot both
write (the loser gets 409). When the last byte arrives the file moves to media storage
and becomes an asset.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse, JsonResponse, UnreadablePostError
from django.utils import timezone
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from foundation import credential_failures, metrics
from foundation.api.problems import problem_response
from foundation.context import identify
from foundation.errors import Conflict, InvalidTransition
from media_core import request_body, staging
from media_core.models import Upload
from media_core.services import uploads as services
from media_core.storage import media_storage
from media_core.upload_urls import upload_token_valid, upload_url

log = logging.getLogger("kino.uploads")

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,expiration,checksum,termination"
CHECKSUMS = {"sha1": hashlib.sha1, "md5": hashlib.md5, "sha256": hashlib.sha256}
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
CHUNK = 1024 * 1024
WRITE_SLICE = 64 * 1024
RENEW_EVERY = 10.0
MAX_METADATA = 4096
TUS_REQUEST_HEADERS = ("Content-Type, Upload-Length, Upload-Offset, Tus-Resumable, Upload-Metadata, "
                       "Upload-Checksum, X-Request-Id, X-Requested-With")
TUS_RESPONSE_HEADERS = ("Upload-Offset, Upload-Length, Upload-Expires, Upload-Metadata, Location, "
                        "Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, "
                        "Tus-Checksum-Algorithm, X-Request-Id")


def _problem(status: int, code: str, title: str, detail: str, **headers: str) -> HttpResponse:
    response = problem_response(status=status, code=code, title=title, detail=detail)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _closed(upload: Upload) -> HttpResponse | None:
    """The answer for an upload that takes no more bytes, or None if it does."""
    if upload.status == Upload.Status.WAITING:
        if upload.expires_at <= timezone.now():
            return _problem(410, "upload_expired", "Upload URL expired",
                            "This upload URL has expired; create a new upload.")
        return None
    if upload.status == Upload.Status.ASSET_CREATED:
        return _problem(409, "upload_complete", "Upload complete",
                        "This upload has all its bytes already.")
    return _problem(410, "upload_closed", "Upload closed",
                    f"This upload is {upload.status}; it takes no more bytes.")


@csrf_exempt
def upload_file(request, upload_id: str, token: str):
    # Before the token is looked at: an address that failed too often waits, good URL or not.
    if (refused := credential_failures.refusal(request)) is not None:
        return _problem(refused.status, refused.code, refused.title, refused.detail,
                        Retry_After=str(refused.retry_after), Tus_Resumable=TUS_VERSION)
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None or not upload_token_valid(upload, token):
        credential_failures.record(request)
        return _problem(404, "not_found", "Not found", "No such upload URL.")
    identify(caller=services.upload_url_actor(upload).caller, environment=upload.environment_id)
    handler = _HANDLERS.get(request.method)
    if handler is None:
        response = _problem(405, "method_not_allowed", "Method not allowed",
                            "Send the file with PUT, or with tus (POST, HEAD, PATCH).",
                            Allow=", ".join(_HANDLERS))
    elif request.method not in ("OPTIONS", "PUT") and request.headers.get("Tus-Resumable") != TUS_VERSION:
        response = _problem(412, "tus_version_unsupported", "Unsupported tus version",
                            f"Send 'Tus-Resumable: {TUS_VERSION}'.", Tus_Version=TUS_VERSION)
    else:
        response = handler(request, upload)
    if request.method != "OPTIONS":
        response["Tus-Resumable"] = TUS_VERSION
    if upload.status == Upload.Status.WAITING:
        response["Upload-Expires"] = http_date(upload.expires_at.timestamp())
    return _cors(request, upload, response)


def _cors(request, upload: Upload, response: HttpResponse) -> HttpResponse:
    origin = request.headers.get("Origin")
    if origin and upload.cors_origin in ("*", origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = ", ".join(_HANDLERS)
        response["Access-Control-Allow-Headers"] = TUS_REQUEST_HEADERS
        response["Access-Control-Expose-Headers"] = TUS_RESPONSE_HEADERS
        response["Access-Control-Max-Age"] = "600"
        response["Vary"] = "Origin"
    return response


# --- tus --------------------------------------------------------------------------------
def _options(request, upload: Upload) -> HttpResponse:
    response = HttpResponse(status=204)
    response["Tus-Version"] = TUS_VERSION
    response["Tus-Extension"] = TUS_EXTENSIONS
    response["Tus-Max-Size"] = str(settings.UPLOAD_MAX_BYTES)
    response["Tus-Checksum-Algorithm"] = ",".join(CHECKSUMS)
    return response


def _head(request, upload: Upload) -> HttpResponse:
    if upload.status not in (Upload.Status.WAITING, Upload.Status.ASSET_CREATED):
        return _closed(upload)
    response = HttpResponse(status=200)
    response["Cache-Control"] = "no-store"
    if upload.status == Upload.Status.ASSET_CREATED:
        response["Upload-Offset"] = str(upload.size_bytes or upload.length or 0)
        response["Upload-Length"] = str(upload.size_bytes or upload.length or 0)
        return response
    if (closed := _closed(upload)) is not None:
        return closed
    response["Upload-Offset"] = str(upload.offset)
    if upload.offset:
        # tus clients ask for the offset only to resume an upload they started before.
        metrics.UPLOADS_RESUMED.inc()
    if upload.length is not None:
        response["Upload-Length"] = str(upload.length)
    if upload.metadata:
        response["Upload-Metadata"] = _encode_metadata(upload.metadata)
    return response


def _create(request, upload: Upload) -> HttpResponse:
    if (closed := _closed(upload)) is not None:
        return closed
    if request.headers.get("Upload-Defer-Length"):
        return _problem(400, "defer_length_unsupported", "Length required",
                        "Send Upload-Length: deferring the length is not supported.")
    length = _int_header(request, "Upload-Length")
    if length is None:
        return _problem(400, "invalid_upload_length", "Invalid Upload-Length",
                        "Upload-Length must be a non-negative integer.")
    if length == 0:
        return _problem(400, "empty_file", "Empty upload", "The file is empty; send a video.")
    if length > settings.UPLOAD_MAX_BYTES:
        metrics.UPLOADS_REFUSED.labels("file_too_large").inc()
        return _problem(413, "file_too_large", "File too large",
                        f"The largest accepted file is {settings.UPLOAD_MAX_BYTES} bytes.")
    try:
        metadata = _decode_metadata(request.headers.get("Upload-Metadata", ""))
    except ValueError as exc:
        return _problem(400, "invalid_upload_metadata", "Invalid Upload-Metadata", str(exc))
    try:
        upload = services.upload_declare_length(upload=upload, length=length, metadata=metadata)
    except InvalidTransition:
        upload.refresh_from_db()
        return _closed(upload) or _problem(409, "upload_closed", "Upload closed", "Try again.")
    except Conflict as exc:
        return _problem(409, exc.code, exc.title, exc.detail, Upload_Offset=str(upload.offset))
    if request.headers.get("Content-Type", "").startswith(OFFSET_CONTENT_TYPE) and upload.offset == 0:
        written = _write(request, upload, offset=0, checksum=None)
        if written.response.status_code != 204:
            return written.response
        upload.offset = written.offset
    response = HttpResponse(status=201)
    response["Location"] = upload_url(upload)
    response["Upload-Offset"] = str(upload.offset)
    return response


def _patch(request, upload: Upload) -> HttpResponse:
    if (closed := _closed(upload)) is not None:
        return closed
    if not request.headers.get("Content-Type", "").startswith(OFFSET_CONTENT_TYPE):
        return _problem(415, "unsupported_media_type", "Unsupported media type",
                        f"PATCH bodies must be sent as {OFFSET_CONTENT_TYPE}.")
    offset = _int_header(request, "Upload-Offset")
    if offset is None:
        return _problem(400, "invalid_upload_offset", "Invalid Upload-Offset",
                        "Upload-Offset must be a non-negative integer.")
    if upload.length is None:
        return _problem(409, "upload_length_unknown", "Length unknown",
                        "Create the upload with POST and Upload-Length before sending bytes.")
    checksum = None
    if header := request.headers.get("Upload-Checksum"):
        algorithm, _, encoded = header.strip().partition(" ")
        if algorithm not in CHECKSUMS:
            return _problem(400, "checksum_algorithm_unsupported", "Unsupported checksum",
                            f"Supported algorithms: {', '.join(CHECKSUMS)}.")
        try:
            checksum = (algorithm, base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            return _problem(400, "invalid_upload_checksum", "Invalid Upload-Checksum",
                            "Upload-Checksum must be '<algorithm> <base64 digest>'.")
    return _write(request, upload, offset=offset, checksum=checksum).response


def _terminate(request, upload: Upload) -> HttpResponse:
    try:
        services.upload_cancel(upload=upload, actor=services.upload_url_actor(upload))
    except InvalidTransition:
        return _closed(upload) or _problem(409, "upload_closed", "Upload closed", "Try again.")
    return HttpResponse(status=204)


# --- one PUT ---------------------------------------------------------------------------
def _put(request, upload: Upload) -> HttpResponse:
    if (closed := _closed(upload)) is not None:
        return closed
    if upload.offset:
        return _problem(409, "upload_in_progress", "Upload in progress",
                        "This upload is being sent resumably; continue with tus PATCH.")
    declared = _int_header(request, "Content-Length")
    if declared is not None and declared > settings.UPLOAD_MAX_BYTES:
        metrics.UPLOADS_REFUSED.labels("file_too_large").inc()
        return _problem(413, "file_too_large", "File too large",
                        f"The largest accepted file is {settings.UPLOAD_MAX_BYTES} bytes.")
    return _write(request, upload, offset=0, checksum=None, whole_file=True).response


# --- writing ---------------------------------------------------------------------------
@dataclass
class Written:
    response: HttpResponse
    offset: int


def _write(request, upload: Upload, *, offset: int, checksum: tuple[str, bytes] | None,
           whole_file: bool = False) -> Written:
    """Append the request body at `offset` under the writer claim; complete when whole."""
    token = services.upload_claim_writer(upload_id=upload.id, offset=offset)
    if token is None:
        upload.refresh_from_db()
        if (closed := _closed(upload)) is not None:
            return Written(closed, upload.offset)
        if upload.offset != offset:
            detail = f"The upload holds {upload.offset} bytes; send from offset {upload.offset}."
        else:
            detail = "Another request is sending bytes to this upload; try again shortly."
        return Written(_problem(409, "offset_conflict", "Offset conflict", detail,
                                Upload_Offset=str(upload.offset)), upload.offset)
    limit = settings.UPLOAD_MAX_BYTES if whole_file else upload.length - offset
    declared = _int_header(request, "Content-Length")
    digest = CHECKSUMS[checksum[0]]() if checksum else None
    written, too_long, interrupted = 0, False, False
    last_renewal = time.monotonic()
    handle = staging.open_for_append(upload.id, offset)
    body = request_body.open_body(request, CHUNK)
    try:
        while True:
            try:
                chunk = body.read()
            except (UnreadablePostError, OSError):
                interrupted = True
                break
            if not chunk:
                break
            if written + len(chunk) > limit:
                too_long = True
                break
            _write_slices(handle, chunk)
            written += len(chunk)
            if digest:
                digest.update(chunk)
            if time.monotonic() - last_renewal > RENEW_EVERY:
                services.upload_renew_writer(upload_id=upload.id, token=token)
                last_renewal = time.monotonic()
        interrupted = interrupted or (declared is not None and written < declared)
        keep = not too_long and not (interrupted and (checksum or whole_file))
        if checksum and not interrupted and digest.digest() != checksum[1]:
            keep = False
        if not keep:
            handle.truncate(offset)
    finally:
        handle.close()
    new_offset = offset + written if keep else offset
    if keep and written:
        metrics.UPLOAD_BYTES.labels("put" if whole_file else "tus").inc(written)

    if too_long:
        metrics.UPLOADS_REFUSED.labels("file_too_large" if whole_file
                                       else "upload_length_exceeded").inc()
        services.upload_release_writer(upload_id=upload.id, token=token, offset=offset)
        if whole_file:
            upload.refresh_from_db()
            services.upload_fail(upload=upload, code="file_too_large",
                                 message=f"More than {limit} bytes were sent.")
            staging.discard(upload.id)
            return Written(_problem(413, "file_too_large", "File too large",
                                    f"The largest accepted file is {limit} bytes."), offset)
        return Written(_problem(413, "upload_length_exceeded", "More bytes than declared",
                                f"This upload was declared as {upload.length} bytes.",
                                Upload_Offset=str(offset)), offset)
    if checksum and not interrupted and not keep:
        metrics.UPLOADS_REFUSED.labels("checksum_mismatch").inc()
        services.upload_release_writer(upload_id=upload.id, token=token, offset=offset)
        return Written(_problem(460, "checksum_mismatch", "Checksum mismatch",
                                "The bytes received do not match Upload-Checksum; send them again.",
                                Upload_Offset=str(offset)), offset)
    if whole_file and written == 0 and not interrupted:
        metrics.UPLOADS_REFUSED.labels("empty_file").inc()
        services.upload_release_writer(upload_id=upload.id, token=token, offset=0)
        return Written(_problem(400, "empty_file", "Empty upload",
                                "The request body was empty; send the file."), 0)

    complete = (whole_file and not interrupted) or (not whole_file and new_offset == upload.length)
    if complete:
        # Still holding the claim: nobody else can write while the file moves.
        response = _complete(upload, size=new_offset, whole_file=whole_file)
        services.upload_release_writer(upload_id=upload.id, token=token, offset=new_offset)
        return Written(response, new_offset)
    services.upload_release_writer(upload_id=upload.id, token=token, offset=new_offset)
    if interrupted:
        log.info("upload %s interrupted at %s bytes", upload.id, new_offset)
    response = HttpResponse(status=204)
    response["Upload-Offset"] = str(new_offset)
    return Written(response, new_offset)


def _write_slices(handle, chunk: memoryview) -> None:
    # One 1 MiB write() costs the kernel far more per byte (page-cache copy) than the
    # same bytes in 64 KiB writes: measured by bench/upload.py, 2.7 vs 1.4 CPU-s per GiB.
    for start in range(0, len(chunk), WRITE_SLICE):
        handle.write(chunk[start:start + WRITE_SLICE])


def _complete(upload: Upload, *, size: int, whole_file: bool) -> HttpResponse:
    try:
        name = staging.move_to_storage(upload.id)
    except OSError:
        log.exception("moving upload %s to storage failed", upload.id)
        return _problem(500, "storage_failed", "Upload not stored",
                        "The file could not be stored; send the last bytes again.")
    try:
        asset = services.upload_complete(upload_id=upload.id, master_name=name, size=size,
                                         actor=services.upload_url_actor(upload))
    except InvalidTransition:
        media_storage().delete(name)
        upload.refresh_from_db()
        return _closed(upload) or _problem(409, "upload_closed", "Upload closed", "Try again.")
    metrics.UPLOADS_COMPLETED.labels("put" if whole_file else "tus").inc()
    if whole_file:
        response = JsonResponse({"upload_id": upload.id, "status": Upload.Status.ASSET_CREATED,
                                 "asset_id": asset.id, "size": size})
    else:
        response = HttpResponse(status=204)
        response["Upload-Offset"] = str(size)
    response["Upload-Asset-Id"] = asset.id
    return response


# --- headers ---------------------------------------------------------------------------
def _int_header(request, name: str) -> int | None:
    raw = request.headers.get(name)
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


def _decode_metadata(header: str) -> dict[str, str]:
    if len(header) > MAX_METADATA:
        raise ValueError(f"Upload-Metadata is longer than {MAX_METADATA} characters.")
    metadata = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        if not key or not key.isascii() or " " in key:
            raise ValueError(f"Bad Upload-Metadata key {key!r}.")
        try:
            metadata[key] = base64.b64decode(value, validate=True).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"Upload-Metadata value of {key!r} is not base64 text.") from exc
    return metadata


def _encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" if v else k
                    for k, v in metadata.items())


_HANDLERS = {"OPTIONS": _options, "HEAD": _head, "POST": _create, "PATCH": _patch,
             "DELETE": _terminate, "PUT": _put}
