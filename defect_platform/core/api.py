from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from defect_platform.core import audit_log
from defect_platform.core.access import get_project_for_user, get_scoped, projects_for_user
from defect_platform.core.models import Membership, Project
from defect_platform.core.roles import Role
from defect_platform.core.serializers import (
    MembershipSerializer,
    ProjectSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
)


class TokenView(APIView):
    """Exchange a username and password for an API token (header `Authorization: Token <key>`)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    def get_authenticate_header(self, request):
        return "Token"  # wrong credentials are a 401 with a challenge, not a 403

    @extend_schema(request=TokenRequestSerializer, responses=TokenResponseSerializer)
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None or not user.is_active:
            raise AuthenticationFailed("Wrong username or password.")
        token, created = Token.objects.get_or_create(user=user)
        if created:
            audit_log.record(user, audit_log.Action.TOKEN_CREATED, target=f"token of {user}")
        return Response({"token": token.key})


class ProjectViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ProjectSerializer
    filterset_fields = ["slug"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return projects_for_user(self.request.user).order_by("name")

    def get_object(self):
        capability = "manage" if self.action in ("update", "partial_update") else "view"
        return get_project_for_user(self.request.user, self.kwargs["pk"], capability)

    def perform_create(self, serializer):
        user = self.request.user
        if not (user.is_staff or user.has_perm("core.add_project")):
            raise PermissionDenied("Only administrators and project creators may create projects.")
        with transaction.atomic():
            project = serializer.save(created_by=user)
            Membership.objects.create(user=user, project=project, role=Role.OWNER)

    def perform_update(self, serializer):
        fields = list(serializer.validated_data)
        before = {f: getattr(serializer.instance, f) for f in fields}
        project = serializer.save()
        changed = audit_log.changes(before, {f: getattr(project, f) for f in fields})
        if changed:
            audit_log.record(
                self.request.user,
                audit_log.Action.PROJECT_SETTINGS,
                project,
                project.name,
                changes={k: [str(a), str(b)] for k, (a, b) in changed.items()},
            )


class MembershipViewSet(viewsets.ModelViewSet):
    serializer_class = MembershipSerializer
    queryset = Membership.objects.none()  # for the schema; get_queryset scopes by project
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete"]

    def _project(self, capability="view") -> Project:
        return get_project_for_user(self.request.user, self.kwargs["project_pk"], capability)

    def get_queryset(self):
        project = self._project("view" if self.request.method == "GET" else "manage")
        return Membership.objects.filter(project=project).select_related("user")

    def get_object(self):
        capability = "view" if self.request.method == "GET" else "manage"
        self._project(capability)
        obj = get_scoped(Membership.objects.all(), self.request.user, self.kwargs["pk"], capability)
        if obj.project_id != int(self.kwargs["project_pk"]):
            from django.http import Http404

            raise Http404
        return obj

    def create(self, request, *args, **kwargs):
        # The role check comes before validation: a caller who may not manage the project
        # learns nothing from form errors.
        self._project("manage")
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        project = self._project("manage")
        try:
            with transaction.atomic():
                member = serializer.save(project=project)
                audit_log.record(
                    self.request.user,
                    audit_log.Action.MEMBERSHIP_ADDED,
                    project,
                    member.user.username,
                    role=member.role,
                )
        except IntegrityError:
            raise serializers.ValidationError(
                {"username": "This user already has a role in the project; change it instead."}
            ) from None

    def perform_destroy(self, instance):
        remaining_owners = Membership.objects.filter(project=instance.project, role=Role.OWNER)
        if instance.role == Role.OWNER and remaining_owners.count() == 1:
            raise serializers.ValidationError({"role": "A project keeps at least one owner."})
        with transaction.atomic():
            instance.delete()
            audit_log.record(
                self.request.user,
                audit_log.Action.MEMBERSHIP_REMOVED,
                instance.project,
                instance.user.username,
                role=instance.role,
            )

    def perform_update(self, serializer):
        before = serializer.instance.role
        owners = Membership.objects.filter(project=serializer.instance.project, role=Role.OWNER)
        demoted = serializer.validated_data.get("role", before) != Role.OWNER
        if before == Role.OWNER and demoted and owners.count() == 1:
            raise serializers.ValidationError({"role": "A project keeps at least one owner."})
        with transaction.atomic():
            member = serializer.save()
            if member.role != before:
                audit_log.record(
                    self.request.user,
                    audit_log.Action.MEMBERSHIP_CHANGED,
                    member.project,
                    member.user.username,
                    role=[before, member.role],
                )
