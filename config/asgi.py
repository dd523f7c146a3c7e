import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django is set up here, before anything below imports models.
django_asgi_app = get_asgi_application()

# Here each request runs in a thread of its own that ends with it, so a connection kept
# past the request would never be reused, only left open until the garbage collector
# finds it: "When using ASGI, persistent connections should be disabled" (Django's
# documentation). Before any connection opens; DATABASE_POOL=1 shares them instead.
for _database in settings.DATABASES.values():
    _database["CONN_MAX_AGE"] = 0

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    # Session cookies authenticate the socket, so its Origin must be one of ours
    # (another site's page could otherwise open it with the operator's cookies).
    "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
})
