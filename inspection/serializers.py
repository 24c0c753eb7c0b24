from rest_framework import serializers

from inspection.models import InspectionRecord, RecordView, Station


class InspectRequestSerializer(serializers.Serializer):
    project = serializers.IntegerField(required=False, min_value=1)
    station = serializers.IntegerField(required=False, min_value=1)
    images = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        min_length=1,
        max_length=32,
        help_text="One image per camera view of the object (multipart field, repeatable).",
    )
    cameras = serializers.ListField(
        child=serializers.CharField(max_length=60),
        required=False,
        help_text="Camera names, in the order of `images` (default view1, view2, ...).",
    )
    serial = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    lot = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    idempotency_key = serializers.CharField(
        max_length=120, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs):
        if bool(attrs.get("project")) == bool(attrs.get("station")):
            raise serializers.ValidationError(
                {"project": "Give either a project id or a station id."}
            )
        cameras = attrs.get("cameras")
        if cameras and len(cameras) != len(attrs["images"]):
            raise serializers.ValidationError({"cameras": "Give one camera name per image."})
        return attrs


class VerdictViewSerializer(serializers.Serializer):
    camera = serializers.CharField()
    score = serializers.FloatField()
    area_px = serializers.IntegerField()
    bbox = serializers.ListField(
        child=serializers.IntegerField(), help_text="[x, y, width, height] in the view's pixels"
    )
    mask_url = serializers.CharField(allow_null=True)


class VerdictDefectSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    defect_type = serializers.CharField()
    score = serializers.FloatField()
    area_px = serializers.IntegerField()
    views = VerdictViewSerializer(many=True)


class VerdictModelSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    model_version = serializers.IntegerField(
        allow_null=True, help_text="null when a channel of a fused model judged the project"
    )
    fused_model = serializers.IntegerField(allow_null=True)
    snapshot = serializers.IntegerField(
        allow_null=True,
        help_text="the dataset snapshot the model version was trained on; null for a fused "
        "model's channel",
    )
    runtime = serializers.CharField()
    threshold = serializers.FloatField()
    min_area = serializers.IntegerField()


class VerdictSerializer(serializers.Serializer):
    """The verdict JSON (documentation of the shape; built by inspection.verdicts)."""

    id = serializers.IntegerField()
    station = serializers.IntegerField(allow_null=True)
    captured_at = serializers.DateTimeField()
    serial = serializers.CharField(allow_blank=True)
    lot = serializers.CharField(allow_blank=True)
    verdict = serializers.ChoiceField(choices=InspectionRecord.Verdict.choices)
    defects = VerdictDefectSerializer(many=True)
    models = VerdictModelSerializer(many=True)
    quality = serializers.DictField(child=serializers.DictField(child=serializers.FloatField()))
    latency_ms = serializers.FloatField()


class RecordViewSerializer(serializers.ModelSerializer):
    image_url = serializers.SerializerMethodField()

    class Meta:
        model = RecordView
        fields = ["id", "camera", "captured_at", "image_url", "pruned_at"]

    def get_image_url(self, view) -> str | None:
        """None once the retention policy removed the image (the row stays)."""
        return f"/api/records/{view.record_id}/views/{view.pk}/" if view.file else None


class RecordDetailSerializer(VerdictSerializer):
    views = RecordViewSerializer(many=True)


class StationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Station
        fields = [
            "id",
            "name",
            "projects",
            "cameras",
            "fps",
            "judge_live",
            "keep_ok_images",
            "ng_alert_window",
            "ng_alert_factor",
            "active",
            "state_changed_at",
            "created_at",
        ]
        read_only_fields = fields


class StationAlertSerializer(serializers.ModelSerializer):
    """The NG-rate alert of the live page: the NG rate over the last `ng_alert_window`
    objects above `ng_alert_factor` times the day's rate."""

    ng_alert_window = serializers.IntegerField(min_value=5, max_value=10000, required=False)
    ng_alert_factor = serializers.FloatField(required=False)

    class Meta:
        model = Station
        fields = ["ng_alert_window", "ng_alert_factor"]

    def validate_ng_alert_factor(self, value):
        # Above 1: at k <= 1 the alert fires whenever the recent rate is merely usual.
        if not 1 < value <= 100:  # NaN fails too
            raise serializers.ValidationError("k must be above 1 and at most 100.")
        return value


class RecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = InspectionRecord
        fields = [
            "id",
            "station",
            "captured_at",
            "serial",
            "lot",
            "verdict",
            "latency_ms",
            "created_at",
        ]
        read_only_fields = fields


class PlacementSerializer(serializers.Serializer):
    radius = serializers.FloatField(min_value=1e-6, max_value=1e6, help_text="part radius")
    length = serializers.FloatField(min_value=1e-6, max_value=1e6, help_text="part length")
    cameras = serializers.IntegerField(min_value=1, max_value=64)
    distance = serializers.FloatField(
        min_value=1e-6, max_value=1e7, help_text="from the part's axis to each camera"
    )
    fov_deg = serializers.FloatField(min_value=0.1, max_value=179, help_text="across the axis")
    vfov_deg = serializers.FloatField(min_value=0.1, max_value=179, help_text="along the axis")
    max_incidence_deg = serializers.FloatField(min_value=1, max_value=89, default=60.0)
    start_deg = serializers.FloatField(min_value=-360, max_value=360, default=0.0)


class ReferenceSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="the camera's golden frame: sharp, well lit")
    limits = serializers.JSONField(
        required=False,
        help_text="min_sharpness_ratio, max_brightness_shift, max_clipped_increase",
    )

    def validate_limits(self, value):
        from inspection.quality import DEFAULT_LIMITS

        if not isinstance(value, dict) or set(value) - set(DEFAULT_LIMITS):
            raise serializers.ValidationError(f"Use only the keys {sorted(DEFAULT_LIMITS)}.")
        for key, number in value.items():
            if not isinstance(number, int | float) or not 0 <= number <= 255:
                raise serializers.ValidationError(f"{key} must be a number from 0 to 255.")
        return value


class TriggerSerializer(serializers.Serializer):
    serial = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")
    lot = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")
    idempotency_key = serializers.CharField(
        required=False, allow_blank=True, max_length=120, default=""
    )


class DecisionRequestSerializer(serializers.Serializer):
    confirm = serializers.BooleanField(
        default=False, help_text="take the model's verdict as yours for every defect type"
    )
    decisions = serializers.DictField(
        child=serializers.ChoiceField(choices=["present", "absent", "unsure"]),
        required=False,
        help_text="defect project id -> present, absent or unsure",
    )
    blind = serializers.BooleanField(default=False, help_text="you did not see the model's verdict")
    adjudicate = serializers.BooleanField(
        default=False, help_text="a supervisor's final word where inspectors are tied"
    )

    def validate_decisions(self, value):
        try:
            return {int(k): v for k, v in value.items()}
        except ValueError:
            raise serializers.ValidationError("Keys are defect project ids.") from None


class DecisionSerializer(serializers.ModelSerializer):
    inspector = serializers.CharField(source="inspector.username")

    class Meta:
        from inspection.models import InspectorDecision

        model = InspectorDecision
        fields = [
            "id",
            "record",
            "project",
            "inspector",
            "decision",
            "blind",
            "adjudication",
            "created_at",
        ]
