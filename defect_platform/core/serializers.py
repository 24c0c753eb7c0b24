from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from rest_framework import serializers

from defect_platform.core.models import Membership, Project, Webhook, WebhookDelivery


class ProjectSerializer(serializers.ModelSerializer):
    my_role = serializers.SerializerMethodField()
    suggested_input_size = serializers.SerializerMethodField(
        help_text="[height, width] that the project's images suggest: their typical aspect "
        "ratio, the short side at most 256, multiples of 32; null without images"
    )
    input_size = serializers.SerializerMethodField(
        help_text="[height, width] a new job trains at: input_height x input_width when set, "
        "else the suggested size (256 x 256 without images)"
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "color",
            "labeling_guide",
            "decision_threshold",
            "min_defect_area",
            "input_height",
            "input_width",
            "suggested_input_size",
            "input_size",
            "resize_policy",
            "miss_cost",
            "audit_ok_sample",
            "audit_double_sample",
            "audit_double_inspectors",
            "overlap",
            "created_at",
            "my_role",
        ]
        read_only_fields = ["id", "created_at", "my_role", "suggested_input_size", "input_size"]

    def get_suggested_input_size(self, project) -> list[int] | None:
        from training.services import suggested_input_size

        # Kept for get_input_size: both fields need it, and it reads the images' sizes.
        self._suggested = getattr(self, "_suggested", {})
        if project.pk not in self._suggested:
            self._suggested[project.pk] = suggested_input_size(project)
        return self._suggested[project.pk]

    def get_input_size(self, project) -> list[int]:
        from training.services import input_size_for

        return input_size_for(project, self.get_suggested_input_size(project))

    def get_my_role(self, project) -> str | None:
        request = self.context.get("request")
        from defect_platform.core.access import role_in

        if request is None:
            return None
        if request.user.is_staff and role_in(request.user, project) is None:
            return "staff"
        return role_in(request.user, project)

    def validate(self, attrs):
        for field in ("input_height", "input_width"):
            value = attrs.get(field)
            if value is not None and (value < 32 or value > 4096 or value % 32):
                raise serializers.ValidationError(
                    {
                        field: "Must be a multiple of 32 between 32 and 4096 (the U-Net halves it "
                        "five times)."
                    }
                )
        height = attrs.get("input_height", getattr(self.instance, "input_height", None))
        width = attrs.get("input_width", getattr(self.instance, "input_width", None))
        if (height is None) != (width is None):
            raise serializers.ValidationError(
                {"input_height": "Set both input_height and input_width, or neither (automatic)."}
            )
        return attrs


class UsernameField(serializers.SlugRelatedField):
    def to_internal_value(self, data):
        # PostgreSQL cannot even compare a text with NUL in it: refuse it as a name.
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", ""))
        return super().to_internal_value(data)


class MembershipSerializer(serializers.ModelSerializer):
    username = UsernameField(
        source="user", slug_field="username", queryset=get_user_model().objects.all()
    )

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs):
        if (
            self.instance is not None
            and attrs.get("user", self.instance.user) != self.instance.user
        ):
            raise serializers.ValidationError(
                {"username": "A membership keeps its user; add the other user instead."}
            )
        return attrs


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()


class WebhookSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Webhook.Event.choices),
        required=False,
        help_text="events to send; empty or absent: all",
    )
    secret = serializers.CharField(
        required=False,
        min_length=16,
        max_length=128,
        help_text="HMAC key; generated when absent. Receivers check X-Signature-256 with it.",
    )

    class Meta:
        model = Webhook
        fields = ["id", "project", "url", "secret", "events", "active", "created_at"]
        read_only_fields = ["id", "project", "created_at"]

    def validate_url(self, url: str) -> str:
        if not url.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Use an http:// or https:// URL.")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - parsing it refuses ports above 65535
        except ValueError as exc:
            raise serializers.ValidationError(f"Not a usable URL: {exc}.") from None
        if not parts.hostname:
            raise serializers.ValidationError("The URL names no host.")
        return url


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "status",
            "attempts",
            "response_code",
            "error",
            "created_at",
            "delivered_at",
            "payload",
        ]
