"""Signing keys as support sees them: which exist, since when, and a way to revoke one."""

from django.contrib import admin

from foundation.admin import (
    ReadOnlyAdmin,
    apply_to_each,
    audit_trail_link,
    link_to,
    time_column,
    user_may,
)

from .models import SigningKey
from .services import signing_key_delete


def _delete(key: SigningKey, actor) -> None:
    signing_key_delete(key=key, actor=actor)


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    """Keys are made through the API (the private key is handed out once, there).
    Deleting one here stops every token it signed at once."""

    list_display = ["id", "environment", "created"]
    list_filter = ["environment"]
    list_select_related = ["environment"]
    search_fields = ["=id"]
    fields = ["id", "environment_link", "created_at", "public_key", "audit_trail"]
    readonly_fields = fields
    actions = ["delete_keys"]
    created = time_column("created_at", "created")

    @admin.display(description="environment")
    def environment_link(self, key: SigningKey) -> str:
        return link_to(key.environment)

    @admin.display(description="audit trail")
    def audit_trail(self, key: SigningKey) -> str:
        return audit_trail_link(key.id)

    def has_revoke_permission(self, request) -> bool:
        return user_may(request, "delete", SigningKey)

    @admin.action(description="Delete key (its tokens stop working)", permissions=["revoke"])
    def delete_keys(self, request, queryset):
        apply_to_each(request, queryset, _delete, done="Deleted")
