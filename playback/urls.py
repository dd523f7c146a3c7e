from django.urls import path, re_path

from . import views

urlpatterns = [
    re_path(r"^v/(?P<playback_id>pbk_[0-9a-z]{26})\.m3u8$", views.master, name="playback-master"),
    path("v/<str:playback_id>/s/<str:expires>/<str:signature>/<path:path>", views.child_file,
         name="playback-child"),
    path("v/<str:playback_id>/thumbnail.jpg", views.thumbnail, name="playback-thumbnail"),
    path("embed/<str:playback_id>", views.embed, name="playback-embed"),
]
