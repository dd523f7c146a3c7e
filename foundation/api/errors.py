"""URL-level errors: problem+json under /api/ (and for viewers), HTML elsewhere."""

from django.views import defaults

from .problems import problem_response

_JSON_PREFIXES = ("/api/", "/v/", "/upload/")


def not_found(request, exception=None):
    if request.path.startswith(_JSON_PREFIXES):
        return problem_response(status=404, code="not_found", title="Not found",
                                detail="No such resource.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith(_JSON_PREFIXES):
        return problem_response(status=500, code="internal_error", title="Internal error",
                                detail="Something went wrong on our side. Quote the request id to support.")
    return defaults.server_error(request)
