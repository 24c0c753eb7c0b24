import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "defect_platform.settings")
# Set Django up before anything imports models (consumers, auth middleware).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from defect_platform.core.request_limits import AsgiBodyLimit  # noqa: E402
from defect_platform.core.ws_auth import AuthStack  # noqa: E402
from defect_platform.routing import websocket_urlpatterns  # noqa: E402
from inspection.station_host import WithStations  # noqa: E402

# In the embedded mode the first event starts the web process's stations (station_host.py).
application = WithStations(
    ProtocolTypeRouter(
        {
            "http": AsgiBodyLimit(django_asgi_app),
            "websocket": AllowedHostsOriginValidator(AuthStack(URLRouter(websocket_urlpatterns))),
        }
    )
)
