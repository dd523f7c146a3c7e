from rest_framework import serializers

from webhooks.models import Event


class EventObjectSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()


class EventSerializer(serializers.ModelSerializer):
    environment = serializers.CharField(source="environment.name")
    object = serializers.SerializerMethodField()
    data = serializers.JSONField()

    class Meta:
        model = Event
        fields = ["id", "type", "created_at", "environment", "object", "data", "request_id"]

    def get_object(self, event: Event) -> dict:
        return {"type": event.object_type, "id": event.object_id}
