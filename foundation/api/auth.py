from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from foundation import credential_failures
from foundation.context import identify
from foundation.tenancy import api_key_authenticate


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <secret>`; the key becomes ``request.auth``."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        # Before the key is looked at: an address that failed too often waits, good key or not.
        if (refused := credential_failures.refusal(request)) is not None:
            raise refused
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            credential_failures.record(request)
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <api key>'.")
        key = api_key_authenticate(secret.strip())
        if key is None:
            credential_failures.record(request)
            raise exceptions.AuthenticationFailed("This API key is not valid or was revoked.")
        identify(caller=key.id, environment=key.environment_id)
        return (None, key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema names ApiKeyAuthentication: HTTP bearer with an API key."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "An API key, created in the admin or with create_api_key."}
