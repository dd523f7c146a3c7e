from django.urls import path

from . import views

urlpatterns = [
    path("live-streams", views.LiveStreamListView.as_view(), name="live-stream-list"),
    path("live-streams/<str:stream_id>", views.LiveStreamDetailView.as_view(),
         name="live-stream-detail"),
    path("live-streams/<str:stream_id>/disable", views.LiveStreamDisableView.as_view(),
         name="live-stream-disable"),
    path("live-streams/<str:stream_id>/enable", views.LiveStreamEnableView.as_view(),
         name="live-stream-enable"),
    path("live-streams/<str:stream_id>/complete", views.LiveStreamCompleteView.as_view(),
         name="live-stream-complete"),
    path("live-streams/<str:stream_id>/reset-stream-key", views.LiveStreamResetKeyView.as_view(),
         name="live-stream-reset-key"),
    path("live-streams/<str:stream_id>/playback-ids", views.LivePlaybackIdListView.as_view(),
         name="live-playback-id-list"),
    path("live-streams/<str:stream_id>/playback-ids/<str:playback_id>",
         views.LivePlaybackIdDetailView.as_view(), name="live-playback-id-detail"),
    path("live-streams/<str:stream_id>/simulcast-targets", views.SimulcastTargetListView.as_view(),
         name="simulcast-target-list"),
    path("live-streams/<str:stream_id>/simulcast-targets/<str:target_id>",
         views.SimulcastTargetDetailView.as_view(), name="simulcast-target-detail"),
]
