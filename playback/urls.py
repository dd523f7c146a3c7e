from django.urls import path, re_path

from foundation.usage.delivery_log import counted

from . import downloads, image_views, views
from .preview import preview_view

# Everything under /v/ is delivery to viewers: its bytes are counted for usage (counted).
urlpatterns = [
    re_path(r"^v/(?P<playback_id>pbk_[0-9a-z]{26})\.m3u8$", counted(views.master),
            name="playback-master"),
    path("v/<str:playback_id>/s/<str:expires>/<str:signature>/<path:path>",
         counted(views.child_file), name="playback-child"),
    re_path(r"^v/(?P<playback_id>[^/]+)/thumbnail\.(?P<fmt>jpg|png)$",
            counted(image_views.thumbnail), name="playback-thumbnail"),
    path("v/<str:playback_id>/animated.gif", counted(image_views.animated_gif),
         name="playback-gif"),
    path("v/<str:playback_id>/storyboard.vtt", counted(image_views.storyboard_vtt),
         name="playback-storyboard"),
    path("v/<str:playback_id>/storyboard.jpg", counted(image_views.storyboard_image),
         name="playback-storyboard-image"),
    re_path(r"^v/(?P<playback_id>pbk_[0-9a-z]{26})/(?P<name>highest\.mp4|audio\.m4a)$",
            counted(downloads.download), name="playback-download"),
    path("embed/<str:playback_id>", views.embed, name="playback-embed"),
    path("admin/preview/<str:asset_id>/<path:name>", preview_view, name="playback-preview"),
]
