from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from defect_platform.core.access import get_project_for_user, get_scoped
from training import services
from training.models import ModelVersion, TrainingJob
from training.serializers import JobParamsSerializer, ModelVersionSerializer, TrainingJobSerializer


class ProjectJobsView(generics.ListAPIView):
    """List a project's training jobs, or start one on a snapshot of its current labels."""

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
