from rest_framework import serializers

from annotation.models import Image, Label, LabelVersion, PreLabel, ReviewEvent


class LabelVersionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)
    mask_url = serializers.SerializerMethodField()

    class Meta:
        model = LabelVersion
        fields = [
            "id",
            "number",
            "parent",
            "author",
            "kind",
            "is_soft",
            "positive_pixels",
            "created_at",
            "mask_url",
        ]

    def get_mask_url(self, version) -> str | None:
        if not version.mask:
            return None
        return f"/api/label-versions/{version.pk}/mask/"


class ReviewEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True)

    class Meta:
        model = ReviewEvent
        fields = ["id", "label", "version", "actor", "action", "comment", "created_at"]


class LabelSerializer(serializers.ModelSerializer):
    annotator = serializers.CharField(source="annotator.username", read_only=True)
    current_version = LabelVersionSerializer(read_only=True)
    last_review = serializers.SerializerMethodField()

    class Meta:
        model = Label
        fields = [
            "id",
            "image",
            "annotator",
            "state",
            "current_version",
            "accepted_version",
            "last_review",
            "updated_at",
        ]

    def get_last_review(self, label) -> dict | None:
        event = label.reviews.select_related("actor").order_by("-created_at", "-pk").first()
        return ReviewEventSerializer(event).data if event else None


class ReviewActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["accept", "reject"])
    version = serializers.IntegerField(help_text="the version reviewed: a newer one is a 409")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class SubmitSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="the version submitted: a newer one is a 409")


class PreLabelSerializer(serializers.ModelSerializer):
    mask_url = serializers.SerializerMethodField()

    class Meta:
        model = PreLabel
        fields = ["model_version", "uncertainty", "max_probability", "created_at", "mask_url"]

    def get_mask_url(self, prelabel) -> str:
        return f"/api/images/{prelabel.image_id}/prelabel/mask/"


class ImageSerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Image
        fields = [
            "id",
            "project",
            "source_name",
            "width",
            "height",
            "mode",
            "sha256",
            "metadata",
            "created_at",
            "file_url",
            "state",
        ]

    state = serializers.SerializerMethodField()

    def get_state(self, image) -> str | None:
        """Where the image stands in labeling and review (lists only)."""
        return getattr(image, "state", None)

    def get_file_url(self, image) -> str:
        return f"/api/images/{image.pk}/file/"


class ImageDetailSerializer(ImageSerializer):
    labels = LabelSerializer(many=True, read_only=True)

    class Meta(ImageSerializer.Meta):
        fields = [*ImageSerializer.Meta.fields, "labels"]


class UploadSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), allow_empty=False, max_length=1000
    )


class UploadResultSerializer(serializers.Serializer):
    created = ImageSerializer(many=True)
    duplicates = serializers.ListField(child=serializers.DictField())
    errors = serializers.ListField(child=serializers.DictField())


class SaveLabelSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=LabelVersion.Kind.choices, default="mask")
    mask = serializers.FileField(required=False, allow_empty_file=True)
    soft = serializers.BooleanField(default=False)
    base_version = serializers.IntegerField(required=False, allow_null=True, min_value=1)

    def validate(self, attrs):
        if attrs["kind"] == LabelVersion.Kind.MASK and not attrs.get("mask"):
            raise serializers.ValidationError({"mask": "A mask label needs a mask PNG file."})
        return attrs


class ImportRequestSerializer(serializers.Serializer):
    archive = serializers.FileField(
        help_text="a zip of images with masks beside them, or with a COCO or VIA JSON file"
    )
    masks = serializers.ChoiceField(
        choices=["binary", "soft"],
        default="binary",
        help_text="binary: mask values >= 128 are defect; soft: value/255 is the probability",
    )
    category = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="the COCO category this project labels, when the file holds several",
    )


class ImportReportSerializer(serializers.Serializer):
    mask_mode = serializers.CharField()
    images = serializers.IntegerField()
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    labelled = serializers.IntegerField()
    negatives = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())
    ignored = serializers.ListField(child=serializers.CharField())
