"""API of champion and challenger: set a shadow candidate, replay a candidate over stored
captures, and compare either with production and the inspectors (rules in challenger.py)."""

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from defect_platform.core.access import get_scoped
from inspection import audit_api, audit_csv, challenger
from inspection.models import Replay
from training import services as training_services
from training.models import ModelVersion


class ReplaySerializer(serializers.ModelSerializer):
    class Meta:
        model = Replay
        fields = [
            "id",
            "model_version",
            "status",
            "limit",
            "report",
            "error",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class ShadowRequestSerializer(serializers.Serializer):
    shadow = serializers.BooleanField()


class ReplayRequestSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=20000, default=500)


class ModelShadowView(APIView):
    """Make this version its project's shadow candidate (`{"shadow": true}`), or stop."""

    @extend_schema(request=ShadowRequestSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        version = get_scoped(ModelVersion.objects.all(), request.user, pk, "train")
        form = ShadowRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        training_services.set_shadow(version, form.validated_data["shadow"])
        return Response({"model_version": version.pk, "shadow": version.is_shadow})


class ModelReplaysView(APIView):
    """GET: this version's replays. POST: replay it over the newest stored captures of its
    project (`limit`, default 500) in the background."""

    @extend_schema(responses=ReplaySerializer(many=True))
    def get(self, request, pk):
        version = get_scoped(ModelVersion.objects.all(), request.user, pk)
        return Response(ReplaySerializer(version.replays.all()[:50], many=True).data)

    @extend_schema(request=ReplayRequestSerializer, responses={202: ReplaySerializer})
    def post(self, request, pk):
        from inspection.tasks import replay_model

        version = get_scoped(ModelVersion.objects.all(), request.user, pk, "train")
        form = ReplayRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        run = Replay.objects.create(
            model_version=version, limit=form.validated_data["limit"], created_by=request.user
        )
        transaction.on_commit(lambda: replay_model.delay(run.pk))
        return Response(ReplaySerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ReplayDetailView(APIView):
    @extend_schema(responses=ReplaySerializer)
    def get(self, request, pk):
        run = get_scoped(
            Replay.objects.all(), request.user, pk, project_path="model_version__project"
        )
        return Response(ReplaySerializer(run).data)


class ProjectChallengerView(APIView):
    """The shadow candidates' recorded verdicts against production and the inspectors, over
    a station and time range (`station`, `since`, `until`), with a recommendation."""

    renderer_classes = audit_csv.RENDERERS

    @extend_schema(parameters=audit_api.FIGURE, responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_pk):
        project, records = audit_api.audit_scope(request, project_pk)
        body = challenger.shadow_report(project, records)
        return audit_csv.respond(request, project, body, audit_csv.CHALLENGER)
