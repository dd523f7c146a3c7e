"""Every write to a row an asset's documents show tells foundation.documents, so a
document built before it is never served after it (the API's asset JSON, the master
playlist of its playback IDs).

Saves and deletes through the ORM send signals (media_core/apps.py connects them);
queryset updates and bulk inserts send none, so the models' querysets report those
themselves. Only raw SQL goes around both: it must call asset_changed itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models

from foundation import documents

KIND = "asset"


def asset_changed(asset_ids: Iterable[str | None]) -> None:
    documents.changed(KIND, [asset_id for asset_id in asset_ids if asset_id])


class ShownQuerySet(models.QuerySet):
    """A queryset of rows shown in an asset's documents: update() and bulk_create()
    report the assets they touch. `asset_field`: the path from the row to its asset's id;
    `shown_fields`: the fields an update must set to matter (None: any)."""

    asset_field = "asset_id"
    shown_fields: frozenset[str] | None = None

    def update(self, **kwargs):
        if self.shown_fields is not None and not self.shown_fields & kwargs.keys():
            return super().update(**kwargs)
        if not documents.enabled():
            return super().update(**kwargs)
        # Read first: an update may change what selects the rows (the asset never moves).
        asset_ids = set(self.values_list(self.asset_field, flat=True))
        updated = super().update(**kwargs)
        if updated:
            asset_changed(asset_ids)
        return updated

    update.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        asset_changed(getattr(obj, self.asset_field) for obj in created)
        return created


class AssetQuerySet(ShownQuerySet):
    asset_field = "pk"

    def bulk_create(self, objs, *args, **kwargs):
        return models.QuerySet.bulk_create(self, objs, *args, **kwargs)  # new: nothing cached


class JobQuerySet(ShownQuerySet):
    # The document shows the latest job's progress; claims and leases do not show.
    shown_fields = frozenset({"progress", "status", "asset", "asset_id"})


class UploadQuerySet(ShownQuerySet):
    # The document shows its upload's id: only the link matters (tus writes stay cheap).
    shown_fields = frozenset({"asset", "asset_id"})
