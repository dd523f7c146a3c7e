from django.urls import path

from . import endpoint_views, views

urlpatterns = [
    path("events", views.EventListView.as_view(), name="event-list"),
    path("events/<str:event_id>", views.EventDetailView.as_view(), name="event-detail"),
    path("webhook-endpoints", endpoint_views.WebhookEndpointListView.as_view(),
         name="webhook-endpoint-list"),
    path("webhook-endpoints/<str:endpoint_id>", endpoint_views.WebhookEndpointDetailView.as_view(),
         name="webhook-endpoint-detail"),
    path("webhook-endpoints/<str:endpoint_id>/rotate-secret",
         endpoint_views.WebhookSecretRotateView.as_view(), name="webhook-endpoint-rotate-secret"),
    path("webhook-endpoints/<str:endpoint_id>/deliveries",
         endpoint_views.WebhookDeliveryListView.as_view(), name="webhook-endpoint-deliveries"),
    path("webhook-endpoints/<str:endpoint_id>/replay-dead",
         endpoint_views.WebhookReplayDeadView.as_view(), name="webhook-endpoint-replay-dead"),
    path("webhook-deliveries/<str:delivery_id>/retry",
         endpoint_views.WebhookDeliveryRetryView.as_view(), name="webhook-delivery-retry"),
]
