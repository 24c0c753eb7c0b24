from django.conf import settings
from django.db import models

from defect_platform.core.models import Project, RunStatus


class DatasetSnapshot(models.Model):
    """A frozen training set: which images, with which label versions, and which of them
    validate. Jobs on one snapshot are comparable; identical snapshots are stored once."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="snapshots")
    items = models.JSONField(help_text="image id -> label version id")
    validation = models.JSONField(default=list, help_text="image ids held out for validation")
    seed = models.IntegerField(default=0)
    val_fraction = models.FloatField(default=0.2)
    digest = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "digest"], name="unique_snapshot_content")
        ]

    def __str__(self) -> str:
        return f"snapshot {self.pk} ({len(self.items)} images)"

    @property
    def image_ids(self) -> list[int]:
        return [int(k) for k in self.items]


class TrainingJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    params = models.JSONField(default=dict)
    dataset = models.ForeignKey(
        DatasetSnapshot, null=True, on_delete=models.PROTECT, related_name="jobs"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    epoch = models.IntegerField(default=0)
    history = models.JSONField(default=list)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    device = models.CharField(max_length=40, blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    checkpoint = models.FileField(max_length=300, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status})"

    @property
    def snapshot(self) -> dict:
        """image id -> label version id of the frozen training set."""
        return self.dataset.items if self.dataset else {}


class ModelVersion(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    job = models.OneToOneField(
        TrainingJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_version"
    )
    number = models.PositiveIntegerField()
    metrics = models.JSONField(default=dict)
    threshold = models.FloatField(help_text="image decision rule: probability threshold")
    min_area = models.PositiveIntegerField(help_text="image decision rule: minimum defect area")
    pixel_threshold = models.FloatField(default=0.5, help_text="probability -> mask")
    input_height = models.PositiveIntegerField()
    input_width = models.PositiveIntegerField()
    weights = models.FileField(max_length=300)
    onnx = models.FileField(max_length=300, blank=True)
    # The quantized OpenVINO IR, when the training machine could make one.
    int8_model = models.FileField(max_length=300, blank=True)
    int8_weights = models.FileField(max_length=300, blank=True)
    runtime = models.CharField(
        max_length=40,
        default="onnxruntime-fp32",
        help_text="fastest runtime whose accuracy gate passed (metadata['runtime_gate'] says why)",
    )
    metadata = models.JSONField(default=dict)
    is_production = models.BooleanField(default=False)
    is_shadow = models.BooleanField(
        default=False,
        help_text="a candidate judged beside production on the line: its verdicts are recorded "
        "with every inspected object but never decide one",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="unique_model_number"),
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(is_production=True),
                name="one_production_model_per_project",
            ),
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(is_shadow=True),
                name="one_shadow_model_per_project",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} v{self.number}"


class Promotion(models.Model):
    """Who put which model version into production, and when (kept forever)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="promotions")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.model_version} promoted"


class FusedModel(models.Model):
    """One network for several defect projects: output channel k is `channels[k]`'s project,
    each channel with its own decision rule (training.ml.fused)."""

    Status = RunStatus

    name = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict)
    channels = models.JSONField(
        default=list,
        help_text="per output channel: project, threshold, min_area, pixel_threshold, metrics",
    )
    onnx = models.FileField(max_length=300, blank=True)
    # OpenVINO IR of the int8 network, calibrated on the training images of every channel.
    int8_model = models.FileField(max_length=300, blank=True)
    int8_weights = models.FileField(max_length=300, blank=True)
    runtime = models.CharField(max_length=40, default="onnxruntime-fp32")
    metadata = models.JSONField(default=dict)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"fused model {self.pk} ({self.name})"

    @property
    def project_ids(self) -> list[int]:
        return [c["project"] for c in self.channels]
