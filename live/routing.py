from django.urls import path

from .consumers import LiveDashboardConsumer

websocket_urlpatterns = [
    path("ws/live/dashboard/", LiveDashboardConsumer.as_asgi(), name="live-dashboard-ws"),
]
