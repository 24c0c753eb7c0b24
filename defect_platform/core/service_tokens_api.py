"""Service accounts for external systems: owners create scoped, expiring tokens for their
project and revoke them (rules in service_tokens.py)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from defect_platform.core import service_tokens
from defect_platform.core.access import get_project_for_user, get_scoped
from defect_platform.core.models import ServiceToken


class ServiceTokenSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="user.username", read_only=True)
    role = serializers.ChoiceField(
        choices=service_tokens.ROLES, write_only=True, default="inspector"
    )
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ServiceToken.Scope.choices), min_length=1
    )
    days = serializers.IntegerField(
        min_value=1, max_value=service_tokens.MAX_DAYS, default=90, write_only=True
    )

    class Meta:
        model = ServiceToken
        fields = [
            "id",
            "name",
            "account",
            "role",
            "scopes",
            "days",
            "key_prefix",
            "expires_at",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = [
            "id",
            "account",
            "key_prefix",
            "expires_at",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]


class CreatedTokenSerializer(ServiceTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="shown once; only its hash is kept")

    class Meta(ServiceTokenSerializer.Meta):
        fields = [*ServiceTokenSerializer.Meta.fields, "key"]


class ProjectServiceTokensView(APIView):
    """GET: the project's service tokens (never their keys). POST `{"name", "role",
    "scopes": ["read", "inspect", "write"], "days"}`: a service account with that role and a
    token; the answer holds the key, once."""

    @extend_schema(responses=ServiceTokenSerializer(many=True))
    def get(self, request, project_pk):
        project = get_project_for_user(request.user, project_pk, "manage")
        tokens = project.service_tokens.select_related("user")
        return Response(ServiceTokenSerializer(tokens, many=True).data)

    @extend_schema(request=ServiceTokenSerializer, responses={201: CreatedTokenSerializer})
    def post(self, request, project_pk):
        project = get_project_for_user(request.user, project_pk, "manage")
        form = ServiceTokenSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        args = form.validated_data
        token, key = service_tokens.create(
            project, request.user, args["name"], args["role"], args["scopes"], args["days"]
        )
        token.key = key
        return Response(CreatedTokenSerializer(token).data, status=status.HTTP_201_CREATED)


class ServiceTokenView(APIView):
    """DELETE: revoke the token now (the row stays, for the audit log)."""

    @extend_schema(request=None, responses={200: ServiceTokenSerializer})
    def delete(self, request, pk):
        token = get_scoped(ServiceToken.objects.all(), request.user, pk, "manage")
        return Response(ServiceTokenSerializer(service_tokens.revoke(token, request.user)).data)
