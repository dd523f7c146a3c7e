"""What the OpenAPI schema says of every API operation: problem errors, Idempotency-Key."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from .problems import PROBLEM_CONTENT_TYPE

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Makes a retried POST safe. The same key with the same body within 24 hours "
                "returns the first response again (with `Idempotent-Replayed: true`); the same "
                "key with another body gets 422; a request while the first is still running "
                "gets 409.",
)


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


class ApiSchema(AutoSchema):
    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.method == "POST":
            parameters = [*parameters, IDEMPOTENCY_KEY]
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        responses.setdefault("default", self._get_response_for_code(
            OpenApiResponse(ProblemSerializer, description="An RFC 9457 problem document."),
            "default", media_types=[PROBLEM_CONTENT_TYPE], direction=direction,
        ))
        return responses
