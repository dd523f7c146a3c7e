from rest_framework import serializers

from playback.models import SigningKey


class SigningKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = SigningKey
        fields = ["id", "public_key", "created_at"]


class NewSigningKeySerializer(SigningKeySerializer):
    private_key = serializers.CharField(
        allow_null=True,
        help_text="PEM (PKCS#8). Returned only now: it is not stored and cannot be shown again. "
                  "null in an idempotent replay of this request.")

    class Meta(SigningKeySerializer.Meta):
        fields = ["id", "private_key", "public_key", "created_at"]
