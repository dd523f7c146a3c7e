from django.urls import path

from . import views

urlpatterns = [
    path("signing-keys", views.SigningKeyListView.as_view(), name="signing-key-list"),
    path("signing-keys/<str:key_id>", views.SigningKeyDetailView.as_view(), name="signing-key-detail"),
]
