from django.db import transaction
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.imaging import encode_png
from annotation.models import Image
from defect_platform.core.access import get_project_for_user, get_scoped
from training import services
from training.models import ModelVersion, Promotion, TrainingJob
from training.serializers import (
    JobParamsSerializer,
    ModelVersionSerializer,
    PromotionSerializer,
    TrainingJobSerializer,
)


class ProjectJobsView(generics.ListAPIView):
    """List a project's training jobs, or start one on a snapshot of its current labels."""

    queryset = TrainingJob.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = TrainingJobSerializer
    filterset_fields = ["status"]

    def get_queryset(self):
        project = get_project_for_user(self.request.user, self.kwargs["project_pk"])
        return TrainingJob.objects.filter(project=project)

    @extend_schema(request=JobParamsSerializer, responses={201: TrainingJobSerializer})
    def post(self, request, project_pk):
        project = get_project_for_user(request.user, project_pk, "train")
        params = JobParamsSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        with transaction.atomic():
            job = services.create_job(project, request.user, params.validated_data)
        return Response(TrainingJobSerializer(job).data, status=status.HTTP_201_CREATED)


class JobDetailView(generics.RetrieveAPIView):
    serializer_class = TrainingJobSerializer

    def get_object(self):
        return get_scoped(TrainingJob.objects.all(), self.request.user, self.kwargs["pk"])


class JobCancelView(APIView):
    @extend_schema(request=None, responses=TrainingJobSerializer)
    def post(self, request, pk):
        job = get_scoped(TrainingJob.objects.all(), request.user, pk, "train")
        with transaction.atomic():
            job = services.cancel_job(job)
        return Response(TrainingJobSerializer(job).data)


class ProjectModelsView(generics.ListAPIView):
    queryset = ModelVersion.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = ModelVersionSerializer
    filterset_fields = ["is_production"]

    def get_queryset(self):
        project = get_project_for_user(self.request.user, self.kwargs["project_pk"])
        return ModelVersion.objects.filter(project=project)


class ModelDetailView(generics.RetrieveAPIView):
    serializer_class = ModelVersionSerializer

    def get_object(self):
        return get_scoped(ModelVersion.objects.all(), self.request.user, self.kwargs["pk"])


class ModelPromoteView(APIView):
    @extend_schema(request=None, responses=ModelVersionSerializer)
    def post(self, request, pk):
        version = get_scoped(ModelVersion.objects.all(), request.user, pk, "train")
        services.promote(version, request.user)
        return Response(ModelVersionSerializer(version).data)


class ProjectRollbackView(APIView):
    """Put the previous production version back (the one promoted before the current)."""

    @extend_schema(request=None, responses=ModelVersionSerializer)
    def post(self, request, project_pk):
        project = get_project_for_user(request.user, project_pk, "train")
        version = services.rollback(project, request.user)
        return Response(ModelVersionSerializer(version).data)


class ProjectPromotionsView(generics.ListAPIView):
    """Who promoted which version, newest first."""

    queryset = Promotion.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = PromotionSerializer

    def get_queryset(self):
        project = get_project_for_user(self.request.user, self.kwargs["project_pk"])
        return Promotion.objects.filter(project=project).select_related("promoted_by")


class ModelCompareView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("a", int, required=True),
            OpenApiParameter("b", int, required=True),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        a = get_scoped(
            ModelVersion.objects.select_related("job"), request.user, request.query_params.get("a")
        )
        b = get_scoped(
            ModelVersion.objects.select_related("job"), request.user, request.query_params.get("b")
        )
        if a.project_id != b.project_id:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"b": "Compare versions of the same project."})
        return Response(services.compare(a, b))


class ModelPredictionView(APIView):
    """The version's probability map for one of its project's images, as a grey PNG."""

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, pk, image_pk):
        version = get_scoped(ModelVersion.objects.select_related("project"), request.user, pk)
        image = Image.objects.filter(pk=image_pk, project_id=version.project_id).first()
        if image is None:
            raise Http404("No such image in this project.")
        png = encode_png(services.predict_image(version, image))
        return HttpResponse(png, content_type="image/png")
