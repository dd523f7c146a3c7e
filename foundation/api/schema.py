"""What the OpenAPI schema says of every API operation: its id, its errors, Idempotency-Key,
and the ETag of a read."""

from __future__ import annotations

import re

from drf_spectacular.drainage import warn
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from foundation.context import _VALID_REQUEST_ID

from .idempotency import MAX_KEY_LENGTH
from .problems import PROBLEM_CONTENT_TYPE

# The server takes 1 to MAX_KEY_LENGTH printable characters; the schema asks for visible
# ASCII without surrounding blanks, which is what survives every HTTP hop unchanged
# (proxies strip a header's outer whitespace, and non-ASCII bytes are not portable).
# No example value: Swagger UI would fill it in on every "Try it out", and the second
# try with another body would be answered 422.
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH,
     "pattern": r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"},
    OpenApiParameter.HEADER, required=False,
    description=f"Makes a retried POST safe: 1 to {MAX_KEY_LENGTH} printable characters, e.g. a "
                "UUID. The same key with the same body within 24 hours returns the first "
                "response again (with `Idempotent-Replayed: true`); the same key with another "
                "body gets 422; a request while the first is still running gets 409.",
)

REQUEST_ID = OpenApiParameter(
    "X-Request-Id", {"type": "string", "pattern": _VALID_REQUEST_ID.pattern},
    OpenApiParameter.HEADER, required=False,
    description="Your id for this request, echoed in the response and in the server's logs "
                "(another value is replaced by a new id).",
)

IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", str, OpenApiParameter.HEADER, required=False,
    description="The ETag of the document you have: while it is unchanged the answer is "
                "304 Not Modified, with no body.",
)
ETAG = {"ETag": {"schema": {"type": "string"},
                 "description": "The document's version; send it as If-None-Match to poll."}}
NOT_MODIFIED = "The document is unchanged since the ETag sent in If-None-Match; no body."

# Operation ids are verb_noun (`list_assets`, `cancel_upload`): what client generators
# name their methods after, so they are set by hand and never derived from the path.
OPERATION_ID = re.compile(r"^[a-z]+(?:_[a-z0-9]+)+$")


class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="A URI naming the kind of problem.")
    title = serializers.CharField()
    status = serializers.IntegerField(help_text="The HTTP status code of the response.")
    detail = serializers.CharField()
    code = serializers.CharField(help_text="A stable, machine-readable error code.")
    request_id = serializers.CharField(allow_null=True,
                                       help_text="The request's X-Request-Id, for support.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Only for invalid requests: {field: [message, ...]}.",
    )


PROBLEMS = {
    "400": "The request is invalid (a field, a query parameter or the Idempotency-Key); "
           "`errors` names the fields.",
    "401": "No API key, or one that is not valid or was revoked.",
    "403": "The API key lacks the scope this operation needs.",
    "404": "No such object in the API key's environment.",
    "409": "The object's state does not allow this now (or it changed meanwhile), or a "
           "request with the same Idempotency-Key is still running.",
    "415": "The body is not JSON.",
    "422": "The Idempotency-Key was used before with another request.",
    "429": "Too many requests; try again after `Retry-After` seconds.",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"},
                               "description": "Seconds to wait before trying again."}}
# On every response; the RateLimit-* ones (IETF draft) once the key's budget was counted.
RESPONSE_HEADERS = {
    "X-Request-Id": {"schema": {"type": "string"}, "required": True,
                     "description": "The request's id: yours, or a new one."},
    "RateLimit-Limit": {"schema": {"type": "integer"},
                        "description": "Requests allowed in the budget closest to running out."},
    "RateLimit-Remaining": {"schema": {"type": "integer"},
                            "description": "Requests left in that budget."},
    "RateLimit-Reset": {"schema": {"type": "integer"},
                        "description": "Seconds until the oldest counted request leaves its window."},
}


def problem_statuses(method: str, operation: dict) -> list[str]:
    """The error statuses an operation can answer, judged from its shape."""
    parameters = operation.get("parameters", [])
    statuses = ["401", "403", "429"]
    if method == "POST" or "requestBody" in operation or any(
            p["in"] == "query" for p in parameters):
        statuses.append("400")
    if any(p["in"] == "path" for p in parameters):
        statuses.append("404")
    if method in ("POST", "PUT", "PATCH"):
        statuses.append("409")
    if "requestBody" in operation:
        statuses.append("415")
    if method == "POST":
        statuses.append("422")
    return sorted(statuses)


class ApiSchema(AutoSchema):
    def get_operation_id(self):
        # Only reached when a view names no operation_id in @extend_schema.
        warn(f"{self.method} {self.path} has no operation_id: name it verb_noun in @extend_schema.")
        return super().get_operation_id()

    def get_override_parameters(self):
        parameters = [*super().get_override_parameters(), REQUEST_ID]
        if self.method == "POST":
            parameters = [*parameters, IDEMPOTENCY_KEY]
        if self.method == "GET":
            parameters = [*parameters, IF_NONE_MATCH]
        return parameters

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        if not OPERATION_ID.match(operation["operationId"]):
            warn(f"{method} {path}: operation_id {operation['operationId']!r} is not verb_noun.")
        responses = operation["responses"]
        if self.method == "GET" and "200" in responses:
            responses["200"]["headers"] = {**ETAG, **responses["200"].get("headers", {})}
            responses.setdefault("304", {"description": NOT_MODIFIED, "headers": dict(ETAG)})
        # A view names the problems particular to it, or says what a usual one means there.
        for status, description in getattr(self.view, "problems", {}).get(self.method, {}).items():
            responses[status] = self._problem_response(status, description)
        for status in problem_statuses(self.method, operation):
            responses.setdefault(status, self._problem_response(status, PROBLEMS[status]))
            if status == "429":
                responses[status].setdefault("headers", RETRY_AFTER)
        responses.setdefault("default", self._problem_response("default", "An unexpected error."))
        for response in responses.values():
            response["headers"] = {**RESPONSE_HEADERS, **response.get("headers", {})}
        return operation

    def _problem_response(self, status: str, description: str) -> dict:
        return self._get_response_for_code(
            OpenApiResponse(ProblemSerializer, description=description), status,
            media_types=[PROBLEM_CONTENT_TYPE],
        )
