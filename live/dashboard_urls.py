"""The operator dashboard page in the admin: staff only, filled and kept current by
live/static/live/dashboard.js over the dashboard WebSocket (live.consumers)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from . import dashboard


def dashboard_page(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Live dashboard",
        # Shown at once; the socket's snapshot replaces it when it connects.
        "streams": dashboard.cards(),
    }
    return TemplateResponse(request, "live/dashboard.html", context)


urlpatterns = [
    path("admin/live/dashboard/", admin.site.admin_view(dashboard_page), name="live-dashboard"),
]
