import logging
import time

from django.urls import reverse

from .context import Actor, clean_request_id, identify, log_scope

log = logging.getLogger("kino.request")

class RequestIdMiddleware:
    """Give every request an id: echo X-Request-Id or make one, log it, return it."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._admin_prefix = None

    def __call__(self, request):
        request_id = clean_request_id(request.headers.get("X-Request-Id"))
        request.request_id = request_id
        started = time.monotonic()
        with log_scope(request_id=request_id):
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

    def process_view(self, request, view_func, view_args, view_kwargs):
        """In the admin, the signed-in user is the caller. Only there: elsewhere reading
        request.user would cost a session read the request does not otherwise make."""
        if self._admin_prefix is None:
            self._admin_prefix = reverse("admin:index")
        if request.path.startswith(self._admin_prefix):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                identify(caller=Actor.for_user(user).caller)
        return None
