"""Publication: whether viewers may play an asset, decided by editors.

    draft ──publish(at)──> scheduled ──(ready and its time has come)──> published
      │                        │                                          │
      └──────publish()─────────┴─────────────> published <──publish()── unpublished
                                                   │                      ^
                                                   └──────unpublish()─────┘

- `draft`: new, under an environment with `publishing: review` (or
  `new_asset_settings.publish: false`); plays nowhere until someone publishes it.
- `scheduled`: published when it is ready and `publish_at` has come. Under `publishing:
  auto` a new asset is scheduled for the moment it is created, so it plays as soon as
  it is ready (as Mux's assets do).
- `published`: plays; `unpublish_at`, if set, is when it stops.
- `unpublished`: taken down; plays nowhere until published again.

Only a `ready` asset is published now; asking for it before is a 409 (schedule it:
`publish(at=now)` publishes it when it becomes ready).

Times are honoured to the second by playback itself (`playable`), whatever the
schedule's pace; `publication_run_due` (every minute, and when an asset becomes ready)
moves due assets to their new state, with the audit entry and the event that says so.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from foundation.context import Actor
from foundation.errors import Conflict
from foundation.statemachine import Transitions, log_transition
from media_core import audit_actions, events
from media_core.models import Asset

from .records import asset_audit, asset_event

Publication = Asset.Publication

TRANSITIONS = Transitions("asset's publication", {
    Publication.DRAFT: {Publication.SCHEDULED, Publication.PUBLISHED},
    Publication.SCHEDULED: {Publication.SCHEDULED, Publication.PUBLISHED, Publication.DRAFT,
                            Publication.UNPUBLISHED},
    Publication.PUBLISHED: {Publication.UNPUBLISHED, Publication.SCHEDULED},
    Publication.UNPUBLISHED: {Publication.PUBLISHED, Publication.SCHEDULED},
})

SCHEDULE = Actor.system("publication schedule")


def visible(asset, now: datetime | None = None) -> bool:
    """Whether the asset's publication lets viewers play it at `now`, once it is ready:
    published and not past its unpublish time, or scheduled for a time that has come.
    `asset`: anything with the three publication fields (playback keeps them)."""
    now = now or timezone.now()
    if asset.unpublish_at is not None and asset.unpublish_at <= now:
        return False
    if asset.publication_status == Publication.PUBLISHED:
        return True
    return (asset.publication_status == Publication.SCHEDULED
            and asset.publish_at is not None and asset.publish_at <= now)


def playable(asset: Asset, now: datetime | None = None) -> bool:
    """Whether viewers may play the asset at `now`."""
    return asset.status == Asset.Status.READY and visible(asset, now)


def initial_state(*, environment_publishing: str, publish: bool | None) -> dict:
    """The publication fields of a new asset."""
    if publish is False or (publish is None and environment_publishing == "review"):
        return {"publication_status": Publication.DRAFT}
    return {"publication_status": Publication.SCHEDULED, "publish_at": timezone.now()}


def _change(asset: Asset, actor: Actor, dst: str, **fields) -> Asset:
    """Move the asset's publication to `dst` with `fields`, with its audit entry and,
    for a change of what viewers see, its event. `asset`: read with select_for_update in
    the caller's transaction."""
    src = asset.publication_status
    if src != dst:
        TRANSITIONS.check(src, dst)
    updates = {"publication_status": dst, **fields}
    changes = {name: [_shown(getattr(asset, name)), _shown(value)]
               for name, value in updates.items() if getattr(asset, name) != value}
    if not changes:
        return asset
    Asset.objects.filter(pk=asset.pk).update(**updates, updated_at=timezone.now())
    for name, value in updates.items():
        setattr(asset, name, value)
    if src != dst:
        log_transition(asset, TRANSITIONS, src, dst)
    action = {Publication.PUBLISHED: audit_actions.ASSET_PUBLISHED,
              Publication.UNPUBLISHED: audit_actions.ASSET_UNPUBLISHED,
              }.get(dst, audit_actions.ASSET_PUBLICATION_SCHEDULED)
    asset_audit(asset, actor, action, changes)
    if src != dst and dst == Publication.PUBLISHED:
        asset_event(asset, events.ASSET_PUBLISHED)
    elif src == Publication.PUBLISHED and dst != Publication.PUBLISHED:
        asset_event(asset, events.ASSET_UNPUBLISHED)
    return asset


def _shown(value):
    return value.isoformat() if isinstance(value, datetime) else value


def asset_publish(*, asset: Asset, actor: Actor, at: datetime | None = None) -> Asset:
    """Publish now, or schedule for `at` (a time to come). Now needs a ready asset."""
    now = timezone.now()
    with transaction.atomic():
        fresh = Asset.objects.select_for_update().get(pk=asset.pk)
        if fresh.deleted_at:
            raise Conflict("This asset was deleted.", code="invalid_state")
        if at is not None and at > now:
            return _change(fresh, actor, Publication.SCHEDULED, publish_at=at)
        if fresh.status != Asset.Status.READY:
            raise Conflict(
                f"Only a ready asset can be published now; this one is {fresh.status}. "
                "Schedule it (give `at`) and it is published once it is ready.",
                code="asset_not_ready")
        unpublish_at = fresh.unpublish_at if fresh.unpublish_at and fresh.unpublish_at > now else None
        return _change(fresh, actor, Publication.PUBLISHED, publish_at=None,
                       published_at=now, unpublish_at=unpublish_at)


def asset_unpublish(*, asset: Asset, actor: Actor, at: datetime | None = None) -> Asset:
    """Take the asset down now, or at `at` (a time to come)."""
    now = timezone.now()
    with transaction.atomic():
        fresh = Asset.objects.select_for_update().get(pk=asset.pk)
        if fresh.publication_status in (Publication.DRAFT, Publication.UNPUBLISHED):
            raise Conflict(f"This asset is {fresh.publication_status}: it is not playing.",
                           code="invalid_state")
        if at is not None and at > now:
            return _change(fresh, actor, fresh.publication_status, unpublish_at=at)
        return _change(fresh, actor, Publication.UNPUBLISHED, publish_at=None,
                       unpublish_at=None)


def publication_run_due(now: datetime | None = None) -> dict[str, int]:
    """Move every asset whose time has come: scheduled and ready → published, published
    past its unpublish time → unpublished. Safe to run anywhere, any number of times."""
    now = now or timezone.now()
    due_off = Asset.objects.filter(
        Q(publication_status__in=[Publication.PUBLISHED, Publication.SCHEDULED]),
        unpublish_at__lte=now, deleted_at__isnull=True)
    due_on = Asset.objects.filter(publication_status=Publication.SCHEDULED,
                                  publish_at__lte=now, status=Asset.Status.READY,
                                  deleted_at__isnull=True)
    counts = {"published": 0, "unpublished": 0}
    for asset_id in list(due_off.values_list("pk", flat=True)):
        with transaction.atomic():
            asset = Asset.objects.select_for_update().get(pk=asset_id)
            if asset.unpublish_at and asset.unpublish_at <= now:
                _change(asset, SCHEDULE, Publication.UNPUBLISHED, publish_at=None,
                        unpublish_at=None)
                counts["unpublished"] += 1
    for asset_id in list(due_on.values_list("pk", flat=True)):
        with transaction.atomic():
            asset = Asset.objects.select_for_update().get(pk=asset_id)
            if (asset.publication_status == Publication.SCHEDULED and asset.publish_at
                    and asset.publish_at <= now and asset.status == Asset.Status.READY):
                _change(asset, SCHEDULE, Publication.PUBLISHED, publish_at=None,
                        published_at=now)
                counts["published"] += 1
    return counts


def publication_on_ready(asset: Asset) -> None:
    """The asset became ready: if it was scheduled for a time that has come, it is
    published in the same transaction (so its `ready` event is followed by
    `published`)."""
    now = timezone.now()
    if (asset.publication_status == Publication.SCHEDULED and asset.publish_at
            and asset.publish_at <= now):
        _change(asset, SCHEDULE, Publication.PUBLISHED, publish_at=None, published_at=now)
