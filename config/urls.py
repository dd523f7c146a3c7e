from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from foundation import admin_login, health, metrics
from foundation.api.audit import AuditLogView
from foundation.usage.api import UsageView
from media_core.upload_endpoint import upload_file

api_v1 = [
    path("", include("media_core.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("playback.api.urls")),
    path("", include("live.api.urls")),
    path("audit-log", AuditLogView.as_view(), name="audit-log"),
    path("usage", UsageView.as_view(), name="usage"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # Browsers ask for /favicon.ico whatever a page links to; this one is the SVG.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"))),
    path("upload/<str:upload_id>/<str:token>", upload_file, name="upload-url"),
    path("", include("playback.urls")),
    path("", include("live.urls")),
    path("admin/find/", include("foundation.admin_lookup")),
    path("admin/usage/", include("foundation.usage.admin_page")),
    path("admin/status/", include("config.status_page")),
    path("", include("live.dashboard_urls")),
    path("admin/login/", admin_login.login),  # admin.site.login behind the address guard
    path("admin/", admin.site.urls),
]

handler404 = "foundation.api.errors.not_found"
handler500 = "foundation.api.errors.server_error"
