import logging
import time

from .context import clean_request_id, request_id_scope

log = logging.getLogger("kino.request")

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
                request.path,  # tokens in paths (upload, child URL) are redacted by the log filter
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
        return response
