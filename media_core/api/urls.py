from django.urls import path

from . import clips, tracks, views

urlpatterns = [
    path("uploads", views.UploadListView.as_view(), name="upload-list"),
    path("uploads/<str:upload_id>", views.UploadDetailView.as_view(), name="upload-detail"),
    path("uploads/<str:upload_id>/cancel", views.UploadCancelView.as_view(), name="upload-cancel"),
    path("assets", views.AssetListView.as_view(), name="asset-list"),
    path("assets/<str:asset_id>", views.AssetDetailView.as_view(), name="asset-detail"),
    path("assets/<str:asset_id>/retry", views.AssetRetryView.as_view(), name="asset-retry"),
    path("assets/<str:asset_id>/publish", views.AssetPublishView.as_view(), name="asset-publish"),
    path("assets/<str:asset_id>/unpublish", views.AssetUnpublishView.as_view(),
         name="asset-unpublish"),
    path("assets/<str:asset_id>/playback-ids", views.PlaybackIdListView.as_view(),
         name="playback-id-list"),
    path("assets/<str:asset_id>/playback-ids/<str:playback_id>", views.PlaybackIdDetailView.as_view(),
         name="playback-id-detail"),
    path("assets/<str:asset_id>/clips", clips.AssetClipView.as_view(), name="asset-clips"),
    path("assets/<str:asset_id>/tracks", tracks.TextTrackListView.as_view(), name="track-list"),
    path("assets/<str:asset_id>/tracks/<str:track_id>", tracks.TextTrackDetailView.as_view(),
         name="track-detail"),
]
