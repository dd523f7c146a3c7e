"""`GET /api/v1/audit-log`: who did what to which object, from which request (audit:read)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers

from foundation.models import AuditEntry

from .views import ApiView


class AuditActorSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="api_key, user, upload_url or system.")
    id = serializers.CharField()
    label = serializers.CharField()


class AuditObjectSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    object = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = ["id", "created_at", "action", "actor", "object", "request_id", "changes",
                  "message"]

    @extend_schema_field(AuditActorSerializer)
    def get_actor(self, entry: AuditEntry) -> dict:
        return {"type": entry.actor_type, "id": entry.actor_id, "label": entry.actor_label}

    @extend_schema_field(AuditObjectSerializer)
    def get_object(self, entry: AuditEntry) -> dict:
        return {"type": entry.object_type, "id": entry.object_id}


class AuditLogView(ApiView):
    required_scopes = {"GET": "audit:read"}
    serializer_class = AuditEntrySerializer

    @extend_schema(
        operation_id="list_audit_entries",
        summary="Read the audit log",
        responses=AuditEntrySerializer(many=True),
        description="Every change made through the API or the admin in this environment, "
                    "newest first: who (API key, admin user, or the platform), what, which "
                    "object, from which request, and the changed fields before and after.",
        parameters=[
            OpenApiParameter("object_id", str, description="Only entries about this object."),
            OpenApiParameter("request_id", str, description="Only entries of this request."),
            OpenApiParameter("action", str, description="Only this action, e.g. asset.deleted."),
        ],
    )
    def get(self, request):
        entries = AuditEntry.objects.filter(environment_id=self.environment_id)
        for param in ("object_id", "request_id", "action"):
            value = request.query_params.get(param)
            if value:
                entries = entries.filter(**{param: value})
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)
