import logging
import re
import time

from .context import clean_request_id, request_id_scope

log = logging.getLogger("kino.request")

# An upload URL's path carries its token, which is the authority to upload: keep it out
# of the logs.
_UPLOAD_TOKEN = re.compile(r"^(/upload/[^/]+/)[^/]+")


def loggable_path(path: str) -> str:
    return _UPLOAD_TOKEN.sub(r"\1[token]", path)


class RequestIdMiddleware:
    """Give every request an id: echo X-Request-Id or make one, log it, return it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = clean_request_id(request.headers.get("X-Request-Id"))
        request.request_id = request_id
        started = time.monotonic()
        with request_id_scope(request_id):
            response = self.get_response(request)
            response["X-Request-Id"] = request_id
            log.info(
                "%s %s %s %.1fms",
                request.method,
                loggable_path(request.path),
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
        return response
