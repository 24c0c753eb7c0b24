from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from defect_platform.core.models import Project, RunStatus


def default_cameras() -> list[dict]:
    return [{"name": "cam1", "kind": "synthetic"}, {"name": "cam2", "kind": "synthetic"}]


class Station(models.Model):
    """An inspection point: several cameras looking at one object, checked for several defects."""

    name = models.CharField(max_length=120)
    projects = models.ManyToManyField(Project, related_name="stations")
    cameras = models.JSONField(default=default_cameras)
    fps = models.FloatField(default=4.0, help_text="captures per second in continuous mode")
    max_skew_ms = models.PositiveIntegerField(
        default=100, help_text="views of one capture further apart than this are flagged"
    )
    fused_model = models.ForeignKey(
        "training.FusedModel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="when set, one fused network judges the projects it covers instead of one "
        "model per project",
    )
    judge_live = models.BooleanField(
        default=True,
        help_text="judge continuous captures with the projects' models (live verdicts); off: "
        "frames only, verdicts come from triggers",
    )
    keep_ok_images = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="share of OK captures whose view images are kept (all NG and not-inspectable "
        "ones are); verdict rows are always kept",
    )
    ng_alert_window = models.PositiveIntegerField(
        default=50, help_text="NG-rate alert: over the last N objects"
    )
    ng_alert_factor = models.FloatField(
        default=3.0, help_text="NG-rate alert: above k times the day's NG rate"
    )
    thresholds = models.JSONField(
        default=dict,
        blank=True,
        help_text="per project id, {threshold, min_area} replacing the production model's "
        "decision rule on this station (station_thresholds.py)",
    )
    active = models.BooleanField(
        default=True,
        help_text="the station captures and judges; stopped: its cameras are closed and "
        "triggers are refused",
    )
    state_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InspectionRecord(models.Model):
    class Verdict(models.TextChoices):
        OK = "ok", "OK"
        NG = "ng", "NG"
        NOT_INSPECTABLE = "not_inspectable", "Not inspectable"

    station = models.ForeignKey(
        Station, null=True, blank=True, on_delete=models.SET_NULL, related_name="records"
    )
    projects = models.ManyToManyField(Project, related_name="inspection_records")
    captured_at = models.DateTimeField()
    serial = models.CharField(max_length=120, blank=True)
    lot = models.CharField(max_length=120, blank=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    result = models.JSONField(default=dict)
    latency_ms = models.FloatField(default=0.0)
    idempotency_key = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_idempotency_key_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"record {self.pk}: {self.verdict}"


class RecordMask(models.Model):
    """A defect mask of one view of an inspected object."""

    record = models.ForeignKey(InspectionRecord, on_delete=models.CASCADE, related_name="masks")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    camera = models.CharField(max_length=60)
    file = models.FileField(max_length=300)

    def __str__(self) -> str:
        return f"mask of {self.camera} in record {self.record_id}"


class RecordView(models.Model):
    """One camera's image of an inspected object, as JPEG. The retention policy may remove the
    image (`file` empty, `pruned_at` set); the row stays so the record still lists its views."""

    record = models.ForeignKey(InspectionRecord, on_delete=models.CASCADE, related_name="views")
    camera = models.CharField(max_length=60)
    captured_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(max_length=300, blank=True)
    size_bytes = models.PositiveIntegerField(default=0)
    pruned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["record", "pk"]

    def __str__(self) -> str:
        return f"view {self.camera} of record {self.record_id}"


class InspectorDecision(models.Model):
    """One inspector's judgement of one defect type on one inspected object. Kept forever; an
    inspector's newest decision counts. A supervisor's adjudication settles a tie."""

    class Decision(models.TextChoices):
        PRESENT = "present", "Defect present"
        ABSENT = "absent", "No defect"
        UNSURE = "unsure", "Unsure"

    record = models.ForeignKey(InspectionRecord, on_delete=models.CASCADE, related_name="decisions")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=8, choices=Decision.choices)
    blind = models.BooleanField(default=False, help_text="the model's verdict was not shown")
    adjudication = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["record", "project", "created_at", "pk"]
        indexes = [models.Index(fields=["project", "record"])]

    def __str__(self) -> str:
        return f"{self.inspector} on {self.record}: {self.decision}"


class Replay(models.Model):
    """A candidate model run over stored captures of its project, compared with what
    production said at the time and with the inspectors' decisions where there are some."""

    Status = RunStatus

    model_version = models.ForeignKey(
        "training.ModelVersion", on_delete=models.CASCADE, related_name="replays"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    limit = models.PositiveIntegerField(default=500, help_text="newest records replayed")
    report = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"replay {self.pk} of {self.model_version}"
