from rest_framework import serializers

from training.models import ModelVersion, Promotion, TrainingJob

# The weight average's decay per step, for single-type jobs and fused models alike.
EMA_DECAY_RANGE = (0.5, 0.9999)


class JobParamsSerializer(serializers.Serializer):
    epochs = serializers.IntegerField(min_value=1, max_value=1000, default=20)
    batch_size = serializers.IntegerField(min_value=1, max_value=256, default=4)
    lr = serializers.FloatField(min_value=1e-7, max_value=1.0, default=1e-3)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)
    max_steps_per_epoch = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    input_size = serializers.ListField(
        child=serializers.IntegerField(min_value=32, max_value=4096),
        min_length=2,
        max_length=2,
        required=False,
        help_text="[height, width], multiples of 32; defaults to the project's input size",
    )
    loss = serializers.ChoiceField(
        choices=["bce+dice", "bce", "soft+dice", "soft", "focal+dice", "focal", "dice"],
        default="bce+dice",
        help_text="soft: the confidence-weighted loss for soft labels; bce uses the class weight",
    )
    patience = serializers.IntegerField(
        min_value=1,
        max_value=1000,
        required=False,
        allow_null=True,
        help_text="stop after this many epochs without validation improvement",
    )
    val_fraction = serializers.FloatField(min_value=0.0, max_value=0.5, default=0.2)
    augment = serializers.ChoiceField(choices=["full", "flips", "none"], default="full")
    precision = serializers.ChoiceField(
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help_text="auto: bf16 on CPUs where it trains faster than fp32 (AMX, or timed), "
        "mixed precision on CUDA, else fp32",
    )
    max_minutes = serializers.FloatField(
        min_value=0.01,
        max_value=10080,
        required=False,
        allow_null=True,
        help_text="stop training after this much time (the epoch in progress finishes)",
    )
    schedule = serializers.ChoiceField(
        choices=["budget", "epochs"],
        default="budget",
        help_text="budget: the learning rate falls along a cosine to the end of the epochs or "
        "of max_minutes, whichever comes first; epochs: a cosine over the epochs alone",
    )
    ema_decay = serializers.FloatField(
        min_value=EMA_DECAY_RANGE[0],
        max_value=EMA_DECAY_RANGE[1],
        required=False,
        allow_null=True,
        help_text="validate and ship an exponential moving average of the weights with this "
        "decay per step (e.g. 0.99); empty: the weights as the last step left them",
    )
    min_area = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text="fix the decision rule's minimum defect area instead of choosing it",
    )
    snapshot_from = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="train on the same snapshot (images, label versions) as this job",
    )
    fixed_threshold = serializers.FloatField(
        min_value=0.001,
        max_value=0.999,
        required=False,
        allow_null=True,
        help_text="skip choosing thresholds: masks and verdicts at this probability",
    )
    encoder = serializers.ChoiceField(
        choices=["mobilenet_v2", "resnet18", "resnet34", "efficientnet-b0"], default="mobilenet_v2"
    )
    decoder_channels = serializers.ListField(
        child=serializers.IntegerField(min_value=4, max_value=512),
        min_length=5,
        max_length=5,
        required=False,
        help_text="the U-Net decoder's widths, deepest first; default [256, 128, 64, 32, 16]",
    )
    pos_weight = serializers.FloatField(
        min_value=0.01,
        max_value=1000,
        required=False,
        allow_null=True,
        help_text="the class weight of defect pixels in BCE; default: negatives per positive "
        "pixel of the training images, capped",
    )

    def validate_lr(self, value):
        if not value > 0 or value != value:
            raise serializers.ValidationError("The learning rate must be a positive number.")
        return value

    def validate_input_size(self, value):
        if any(v % 32 for v in value):
            raise serializers.ValidationError("Height and width must be multiples of 32.")
        return value


class TrainingJobSerializer(serializers.ModelSerializer):
    model_version = serializers.PrimaryKeyRelatedField(read_only=True)
    snapshot = serializers.JSONField(read_only=True, help_text="image id -> label version id")
    validation_images = serializers.SerializerMethodField(
        help_text="image ids of the snapshot's validation split"
    )

    def get_validation_images(self, job) -> list[int]:
        return list(job.dataset.validation) if job.dataset else []

    class Meta:
        model = TrainingJob
        fields = [
            "id",
            "project",
            "params",
            "dataset",
            "snapshot",
            "validation_images",
            "status",
            "progress",
            "epoch",
            "history",
            "log",
            "error",
            "device",
            "attempts",
            "cancel_requested",
            "created_at",
            "started_at",
            "finished_at",
            "model_version",
        ]
        read_only_fields = fields


class ModelVersionSerializer(serializers.ModelSerializer):
    snapshot = serializers.IntegerField(source="job.dataset_id", default=None, read_only=True)
    normalisation = serializers.SerializerMethodField(
        help_text="how the runtime prepares an image: resize policy, mean and std per channel"
    )
    artifacts = serializers.SerializerMethodField(help_text="which files the version holds")
    pretrained = serializers.CharField(source="metadata.pretrained", default="", read_only=True)

    def get_normalisation(self, version) -> dict:
        from training.ml.data import MEAN, STD
        from training.ml.meta import ModelMeta

        meta = version.metadata.get("meta")
        policy = ModelMeta.from_json(meta).resize_policy if meta else "resize"
        return {"resize_policy": policy, "mean": MEAN.tolist(), "std": STD.tolist()}

    def get_artifacts(self, version) -> dict:
        return {
            "weights": bool(version.weights),
            "onnx": bool(version.onnx),
            "int8": bool(version.int8_model),
        }

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "project",
            "job",
            "snapshot",
            "number",
            "metrics",
            "threshold",
            "min_area",
            "pixel_threshold",
            "input_height",
            "input_width",
            "normalisation",
            "runtime",
            "artifacts",
            "pretrained",
            "is_production",
            "is_shadow",
            "created_at",
        ]
        read_only_fields = fields


class PromotionSerializer(serializers.ModelSerializer):
    promoted_by = serializers.CharField(source="promoted_by.username", default=None)
    number = serializers.IntegerField(source="model_version.number")

    class Meta:
        model = Promotion
        fields = ["id", "model_version", "number", "promoted_by", "created_at"]
        read_only_fields = fields
