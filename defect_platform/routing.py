from django.urls import path

from defect_platform.core.consumers import ProjectEventsConsumer
from inspection.consumers import StationLiveConsumer

websocket_urlpatterns = [
    path("ws/projects/<int:pk>/events/", ProjectEventsConsumer.as_asgi()),
    path("ws/stations/<int:pk>/live/", StationLiveConsumer.as_asgi()),
]
