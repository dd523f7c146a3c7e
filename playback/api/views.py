from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from foundation.api.views import ApiView
from foundation.errors import NotFound
from playback.models import SigningKey
from playback.services import signing_key_create, signing_key_delete

from .serializers import NewSigningKeySerializer, SigningKeySerializer


def _get(environment_id: str, key_id: str) -> SigningKey:
    key = SigningKey.objects.filter(environment_id=environment_id, pk=key_id).first()
    if key is None:
        raise NotFound(f"No signing key {key_id!r} in this environment.")
    return key


class SigningKeyListView(ApiView):
    required_scopes = {"GET": "playback:write", "POST": "playback:write"}
    serializer_class = SigningKeySerializer
    one_time_secrets = ("private_key",)

    @extend_schema(operation_id="list_signing_keys",
                   summary="List signing keys", responses=SigningKeySerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(SigningKey.objects.filter(environment_id=self.environment_id))
        return self.get_paginated_response(SigningKeySerializer(page, many=True).data)

    @extend_schema(operation_id="create_signing_key", summary="Create a signing key", request=None,
                   responses={201: NewSigningKeySerializer},
                   description="An RSA key pair for signing playback tokens (RS256, header "
                               "`kid` = the key id). The private key is in this response only.")
    def post(self, request):
        key, private_pem = signing_key_create(environment=request.auth.environment, actor=self.actor)
        data = {"id": key.id, "private_key": private_pem, "public_key": key.public_key,
                "created_at": key.created_at}
        return Response(NewSigningKeySerializer(data).data, status=status.HTTP_201_CREATED)


class SigningKeyDetailView(ApiView):
    required_scopes = {"GET": "playback:write", "DELETE": "playback:write"}
    serializer_class = SigningKeySerializer

    @extend_schema(operation_id="get_signing_key", summary="Get a signing key")
    def get(self, request, key_id: str):
        return Response(SigningKeySerializer(_get(self.environment_id, key_id)).data)

    @extend_schema(operation_id="delete_signing_key",
                   summary="Delete a signing key; every token it signed stops working",
                   responses={204: None})
    def delete(self, request, key_id: str):
        signing_key_delete(key=_get(self.environment_id, key_id), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
