"""Webhook subscriptions and their delivery log (project owners)."""

import secrets

from drf_spectacular.utils import extend_schema
from rest_framework import generics

from defect_platform.core.access import get_project_for_user, get_scoped
from defect_platform.core.models import Webhook, WebhookDelivery
from defect_platform.core.serializers import WebhookDeliverySerializer, WebhookSerializer


class ProjectWebhooksView(generics.ListCreateAPIView):
    """A project's webhooks; POST subscribes a URL to events (verdict.ng, camera.offline,
    camera.online, job.finished)."""

    queryset = Webhook.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = WebhookSerializer

    def _project(self):
        return get_project_for_user(self.request.user, self.kwargs["project_pk"], "manage")

    def get_queryset(self):
        return Webhook.objects.filter(project=self._project())

    def create(self, request, *args, **kwargs):
        # The role check comes before validation: a caller who may not manage the project
        # learns nothing from form errors.
        self._project()
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        secret = serializer.validated_data.get("secret") or secrets.token_hex(32)
        serializer.save(project=self._project(), secret=secret, created_by=self.request.user)


class WebhookDetailView(generics.RetrieveUpdateDestroyAPIView):
    """DELETE deactivates the webhook; it and its delivery log stay for the record."""

    serializer_class = WebhookSerializer
    http_method_names = ["get", "patch", "delete"]

    def get_object(self):
        return get_scoped(Webhook.objects.all(), self.request.user, self.kwargs["pk"], "manage")

    def perform_destroy(self, instance):
        instance.active = False
        instance.save(update_fields=["active"])


class WebhookDeliveriesView(generics.ListAPIView):
    """The delivery log, newest first: status, attempts, the receiver's answer."""

    queryset = WebhookDelivery.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = WebhookDeliverySerializer

    @extend_schema(operation_id="webhook_deliveries")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        hook = get_scoped(Webhook.objects.all(), self.request.user, self.kwargs["pk"], "manage")
        return hook.deliveries.all()
