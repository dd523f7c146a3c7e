from rest_framework import exceptions
from rest_framework.permissions import BasePermission


class HasRequiredScopes(BasePermission):
    """The key must be valid and carry the scope the view names for the method.

    Views declare ``required_scopes = {"GET": "assets:read", "POST": "assets:write"}``.
    A view that names no scope for a method refuses it, so a forgotten entry fails
    closed. A method the view has no handler for is let through, so that dispatch
    answers it with 405 rather than a misleading 403.
    """

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if key is None:
            raise exceptions.NotAuthenticated("Send an API key as 'Authorization: Bearer <key>'.")
        if getattr(view, request.method.lower(), None) is None:
            return True
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        needed = getattr(view, "required_scopes", {}).get(method)
        if needed is None:
            raise exceptions.PermissionDenied("This operation is not available to API keys.")
        if needed not in key.scopes:
            raise exceptions.PermissionDenied(f"This API key lacks the '{needed}' scope.")
        return True
