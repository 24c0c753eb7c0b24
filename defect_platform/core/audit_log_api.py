"""GET /api/audit-log/: sensitive actions, newest first (staff: all; owners: their projects;
everyone: their own). Filter with ?project=&action=&actor=."""

from rest_framework import generics, serializers

from defect_platform.core import audit_log
from defect_platform.core.models import AuditLogEntry


class AuditLogEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditLogEntry
        fields = ["id", "at", "actor_name", "action", "project", "target", "detail"]
        read_only_fields = fields


class AuditLogView(generics.ListAPIView):
    queryset = AuditLogEntry.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = AuditLogEntrySerializer
    filterset_fields = ["project", "action", "actor_name"]

    def get_queryset(self):
        return audit_log.visible_to(self.request.user)
