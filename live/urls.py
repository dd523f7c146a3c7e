from django.urls import path

from . import ingest_views

urlpatterns = [
    path("live/ingest/<str:secret>/<str:node>/report", ingest_views.report, name="live-ingest-report"),
    path("live/ingest/<str:secret>/<str:node>/<str:event>", ingest_views.callback,
         name="live-ingest-callback"),
]
