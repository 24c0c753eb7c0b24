"""Station setup (engineers and owners): replace the camera list, probe a camera to see the
settings it accepted and the frame it delivers (rules in camera_setup.py), and override the
models' decision rule on this station (station_thresholds.py)."""

from django.core.exceptions import PermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from defect_platform.core.access import can
from inspection import camera_setup, live, station_thresholds
from inspection.access import get_station_for_user


class CamerasSerializer(serializers.Serializer):
    cameras = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=16)


class ThresholdsSerializer(serializers.Serializer):
    thresholds = serializers.DictField(child=serializers.JSONField(allow_null=True), required=False)


def _setup_station(request, pk):
    station = get_station_for_user(request.user, pk)
    if not any(can(request.user, p, "train") for p in station.projects.all()):
        raise PermissionDenied("Setting up cameras needs an engineer or owner role.")
    return station


class StationCamerasView(APIView):
    """GET: the station's cameras. PUT: replace them (`{"cameras": [{"name", "kind",
    "source", "settings"}, ...]}`); a camera keeps its golden reference when its name stays.
    A running station switches to the new cameras within about a second."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        station = get_station_for_user(request.user, pk)
        return Response({"cameras": station.cameras, "kinds": camera_setup.KINDS})

    @extend_schema(request=CamerasSerializer, responses={200: OpenApiTypes.OBJECT})
    def put(self, request, pk):
        station = _setup_station(request, pk)
        form = CamerasSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        cameras = camera_setup.save_cameras(station, form.validated_data["cameras"], request.user)
        return Response({"cameras": cameras, "frame_size": list(live.FRAME_SIZE)})


class CameraProbeView(APIView):
    """Open one camera now with its settings: per setting what was asked, what the device
    reports back and whether it took; the frame size and image quality."""

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk, camera):
        station = _setup_station(request, pk)
        return Response(camera_setup.probe(station, camera))


class StationThresholdsView(APIView):
    """GET: per defect project of the station, the production model's decision rule, this
    station's override and the rule that judges. PATCH `{"thresholds": {"<project id>":
    {"threshold": 0.7, "min_area": 40} or null}}`: set or clear overrides (engineers and owners
    of each project named; recorded in the audit log). Running stations apply them within
    their model reload interval."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        station = get_station_for_user(request.user, pk)
        return Response({"station": station.pk, "projects": station_thresholds.describe(station)})

    @extend_schema(request=ThresholdsSerializer, responses={200: OpenApiTypes.OBJECT})
    def patch(self, request, pk):
        station = _setup_station(request, pk)
        form = ThresholdsSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        station_thresholds.update(station, form.validated_data.get("thresholds", {}), request.user)
        return Response({"station": station.pk, "projects": station_thresholds.describe(station)})
