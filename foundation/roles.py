"""Roles: Django groups that each app grants its permissions to, kept in step with the
code after every `migrate`.

An app declares what a role may do in its AppConfig.ready (`grant("Editors",
"media_core.change_asset", ...)`); after migrating, `sync_roles` makes each group hold
exactly the permissions granted to it (a permission taken out of the code is taken out
of the group). Superusers hold every permission and need no role. The roles and what
each may do are listed in README.md ("Roles").

A data migration cannot do this: on a new database, the permissions it would name are
created only after all migrations ran (by django.contrib.auth's own post_migrate).
"""

from __future__ import annotations

from collections import defaultdict

EDITORS = "Editors"
SUPPORT = "Support"
LIVE_OPERATORS = "Live operators"

_granted: dict[str, set[str]] = defaultdict(set)


def grant(role: str, *permissions: str) -> None:
    """Give a role permissions, each "app_label.codename"."""
    _granted[role].update(permissions)


def granted(role: str) -> frozenset[str]:
    return frozenset(_granted.get(role, ()))


def roles() -> list[str]:
    return sorted(_granted)


def view_all(app_config) -> list[str]:
    """The view permission of every model of an app (what Support reads)."""
    return [f"{app_config.label}.view_{model._meta.model_name}"
            for model in app_config.get_models()]


def sync_roles(**kwargs) -> None:
    """post_migrate (sent once per app, after auth made that app's permissions): every
    role's group holds exactly what was granted to it, of the permissions that exist."""
    from django.contrib.auth.models import Group, Permission

    by_name = {f"{p.content_type.app_label}.{p.codename}": p
               for p in Permission.objects.select_related("content_type")}
    for role, permissions in _granted.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([by_name[name] for name in permissions if name in by_name])
