"""The API's document of an asset, built once per change (foundation/documents.py) and
the same bytes for every request until the asset, its renditions, playback IDs, text
tracks, downloads, upload or latest job change.

The bytes are what the API view renders from AssetSerializer, and what a webhook's
`data` carries for the same state: one serializer, one renderer.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from foundation import documents
from foundation.api.conditional import etag_of
from foundation.api.renderers import OrjsonRenderer
from media_core import selectors
from media_core.api.serializers import AssetSerializer
from media_core.models import (
    Asset,
    PlaybackID,
    ProcessingJob,
    Rendition,
    StaticRendition,
    TextTrack,
    Upload,
)
from media_core.models.changes import KIND, asset_changed

_renderer = OrjsonRenderer()


class Document:
    """An asset's JSON and its ETag, and whose it is."""

    __slots__ = ("body", "environment_id", "etag")

    def __init__(self, body: bytes, environment_id: str):
        self.body = body
        self.environment_id = environment_id
        self.etag = etag_of(body)


def render(asset: Asset) -> bytes:
    """The asset's document, read as media_core.selectors.shaped_for_the_api reads it."""
    return _renderer.render(AssetSerializer(asset).data)


def asset_documents(environment_id: str, asset_ids: list[str],
                    found: dict | None = None) -> dict[str, Document]:
    """The documents of those of `asset_ids` that exist in the environment (deleted ones
    do not), from this process's copies where they are current, the rest built in one
    read of the database (a constant number of queries). `found`: a get_many result that
    holds some of the version keys already."""
    if not documents.enabled():
        assets = selectors.asset_list(environment_id=environment_id).filter(pk__in=asset_ids)
        return {asset.pk: Document(render(asset), environment_id) for asset in assets}
    tokens = documents.versions(KIND, asset_ids, found)
    result: dict[str, Document] = {}
    missing = []
    for asset_id in asset_ids:
        document = documents.get(KIND, asset_id, tokens[asset_id])
        if document is None or document.environment_id != environment_id:
            missing.append(asset_id)
        else:
            result[asset_id] = document
    if missing:
        for asset in selectors.asset_list(environment_id=environment_id).filter(pk__in=missing):
            document = Document(render(asset), environment_id)
            documents.put(KIND, asset.pk, tokens[asset.pk], document)
            result[asset.pk] = document
    return result


def version_key(asset_id: str) -> str:
    return documents.version_key(KIND, asset_id)


# --- what tells the documents that something changed ----------------------------------

def _asset_saved(sender, instance: Asset, **kwargs) -> None:
    asset_changed([instance.pk])


def _part_saved(sender, instance, **kwargs) -> None:
    asset_changed([instance.asset_id])


def connect() -> None:
    """Saves and deletes of every row a document shows (media_core/models/changes.py has
    the queryset side)."""
    for signal in (post_save, post_delete):
        signal.connect(_asset_saved, sender=Asset, dispatch_uid=f"documents-asset-{id(signal)}")
        for model in (Rendition, PlaybackID, ProcessingJob, Upload, TextTrack, StaticRendition):
            signal.connect(_part_saved, sender=model,
                           dispatch_uid=f"documents-{model.__name__}-{id(signal)}")
