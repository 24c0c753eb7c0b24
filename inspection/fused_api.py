"""A station's fused models: train one network for all its defect projects, list them with
their accuracy beside the projects' own models, and choose whether the station uses one."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from defect_platform.core.access import can
from inspection.access import get_station_for_user
from training import fused_services
from training.models import FusedModel
from training.serializers import EMA_DECAY_RANGE


class FusedModelSerializer(serializers.ModelSerializer):
    comparison = serializers.JSONField(source="metadata.comparison", default=None)

    class Meta:
        model = FusedModel
        fields = [
            "id",
            "name",
            "status",
            "channels",
            "runtime",
            "comparison",
            "error",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class FusedTrainSerializer(serializers.Serializer):
    epochs = serializers.IntegerField(min_value=1, max_value=1000, default=20)
    max_minutes = serializers.FloatField(min_value=0.1, max_value=24 * 60, required=False)
    batch_size = serializers.IntegerField(min_value=1, max_value=256, default=4)
    lr = serializers.FloatField(min_value=1e-6, max_value=1.0, default=1e-3)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)
    max_steps_per_epoch = serializers.IntegerField(min_value=1, required=False)
    ema_decay = serializers.FloatField(
        min_value=EMA_DECAY_RANGE[0],
        max_value=EMA_DECAY_RANGE[1],
        required=False,
        allow_null=True,
        help_text="ship an exponential moving average of the weights with this decay per step",
    )


class FusedSelectSerializer(serializers.Serializer):
    fused_model = serializers.IntegerField(allow_null=True)


def _engineer_station(request, pk):
    """The station, for a user who may train in every one of its projects."""
    station = get_station_for_user(request.user, pk)
    projects = list(station.projects.order_by("pk"))
    if not projects or not all(can(request.user, p, "train") for p in projects):
        raise PermissionDenied("Fused models need an engineer or owner role in every project.")
    return station, projects


def _covering(station):
    ids = set(station.projects.values_list("pk", flat=True))
    return [f for f in FusedModel.objects.all()[:200] if set(f.project_ids) <= ids]


class StationFusedModelsView(APIView):
    """GET: fused models over this station's projects. POST: train one (in the background);
    channel k is the station's k-th project by id."""

    @extend_schema(responses=FusedModelSerializer(many=True))
    def get(self, request, pk):
        station = get_station_for_user(request.user, pk)
        return Response(FusedModelSerializer(_covering(station), many=True).data)

    @extend_schema(request=FusedTrainSerializer, responses={202: FusedModelSerializer})
    def post(self, request, pk):
        station, projects = _engineer_station(request, pk)
        form = FusedTrainSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        params = {k: v for k, v in form.validated_data.items() if v is not None}
        fused = fused_services.create(projects, request.user, params)
        return Response(FusedModelSerializer(fused).data, status=status.HTTP_202_ACCEPTED)


class StationFusedSelectView(APIView):
    """Use a fused model on this station (`{"fused_model": id}`), or go back to one model per
    project (`{"fused_model": null}`)."""

    @extend_schema(request=FusedSelectSerializer, responses={200: FusedModelSerializer})
    def post(self, request, pk):
        station, _ = _engineer_station(request, pk)
        form = FusedSelectSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        chosen = form.validated_data["fused_model"]
        fused = None
        if chosen is not None:
            fused = next((f for f in _covering(station) if f.pk == chosen), None)
            if fused is None:
                raise Http404("No such fused model for this station.")
            if fused.status != FusedModel.Status.SUCCEEDED:
                raise serializers.ValidationError(
                    {"fused_model": f"This fused model is {fused.status}; use a finished one."}
                )
        station.fused_model = fused
        station.save(update_fields=["fused_model"])
        return Response(FusedModelSerializer(fused).data if fused else {"fused_model": None})
