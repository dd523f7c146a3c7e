"""RFC 9457 problem documents: the only shape an API error ever has."""

from __future__ import annotations

import logging
import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from foundation.context import current_request_id
from foundation.errors import DomainError, RateLimited

log = logging.getLogger("kino.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_body(*, status: int, code: str, title: str, detail: str, errors: dict | None = None) -> dict:
    body = {
        "type": f"urn:kino:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": current_request_id(),
    }
    if errors:
        body["errors"] = errors
    return body


def _join(parent: str, child: str) -> str:
    return f"{parent}{child}" if child.startswith("[") else f"{parent}.{child}"


def _field_errors(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for field, value in detail.items():
            # DRF keys a ListField's errors by the int index of the bad item.
            name = f"[{field}]" if isinstance(field, int) else str(field)
            if isinstance(value, dict):
                for sub, msgs in _field_errors(value).items():
                    out[_join(name, sub)] = msgs
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for i, item in enumerate(value):
                    for sub, msgs in _field_errors(item).items():
                        out[_join(f"{name}[{i}]", sub)] = msgs
            else:
                out[name] = [str(m) for m in (value if isinstance(value, list) else [value])]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


_DRF_CODES = {
    drf.NotAuthenticated: ("unauthenticated", "Authentication required"),
    drf.AuthenticationFailed: ("unauthenticated", "Authentication failed"),
    drf.PermissionDenied: ("forbidden", "Forbidden"),
    drf.NotFound: ("not_found", "Not found"),
    drf.MethodNotAllowed: ("method_not_allowed", "Method not allowed"),
    drf.NotAcceptable: ("not_acceptable", "Not acceptable"),
    drf.UnsupportedMediaType: ("unsupported_media_type", "Unsupported media type"),
    drf.ParseError: ("malformed_request", "Malformed request body"),
    drf.Throttled: ("rate_limited", "Too many requests"),
}


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every exception becomes a problem document."""
    headers = {}
    if isinstance(exc, DomainError):
        body = problem_body(status=exc.status, code=exc.code, title=exc.title,
                            detail=exc.detail, errors=exc.errors)
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, drf.ValidationError):
        errors = _field_errors(exc.detail)
        body = problem_body(status=400, code="invalid_request", title="Invalid request",
                            detail="Some fields are invalid; see errors.", errors=errors)
    elif isinstance(exc, Http404):
        body = problem_body(status=404, code="not_found", title="Not found",
                            detail="No such object.")
    elif isinstance(exc, DjangoPermissionDenied):
        body = problem_body(status=403, code="forbidden", title="Forbidden",
                            detail="You may not do this.")
    elif isinstance(exc, drf.APIException):
        code, title = next(
            (v for k, v in _DRF_CODES.items() if isinstance(exc, k)), ("error", "Error")
        )
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        body = problem_body(status=exc.status_code, code=code, title=title, detail=str(detail))
        if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
            # DRF answers 403 for these unless an authenticator names a challenge.
            body["status"] = 401
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    else:
        log.exception("unhandled error in API view")
        body = problem_body(status=500, code="internal_error", title="Internal error",
                            detail="Something went wrong on our side. Quote the request id to support.")
    return Response(body, status=body["status"], headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def problem_response(*, status: int, code: str, title: str, detail: str) -> JsonResponse:
    """For plain Django views and URL-level errors under /api/."""
    return JsonResponse(
        problem_body(status=status, code=code, title=title, detail=detail),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
