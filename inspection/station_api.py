"""Start and stop a station from the page or a line system (supervisors, engineers, owners)."""

from django.core.exceptions import PermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from defect_platform.core.access import can
from inspection import station_state
from inspection.access import get_station_for_user


class StationStateView(APIView):
    """POST …/start/ or …/stop/: the station's new state. Stopping closes its cameras within
    about a second, wherever its runner lives; triggers are refused until it starts again."""

    active: bool = True

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        station = get_station_for_user(request.user, pk)
        if not any(can(request.user, p, "operate") for p in station.projects.all()):
            raise PermissionDenied("Starting or stopping a station needs a supervisor role.")
        station_state.set_active(station, request.user, self.active)
        return Response(station_state.state(station))
