from django.conf import settings
from django.db import models

from defect_platform.core.models import Project, RunStatus


class Image(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(max_length=300)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    mode = models.CharField(max_length=10, help_text="Pillow mode of the stored file, e.g. L, RGB")
    source_name = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "sha256"], name="unique_image_per_project")
        ]

    def __str__(self) -> str:
        return self.source_name or f"image {self.pk}"


class Label(models.Model):
    """One annotator's label for one image; its content lives in immutable versions.

    `state` is where the label stands in review. `accepted_version` is the version a reviewer
    last accepted: an edit after acceptance moves the label back to in progress, but training
    keeps the accepted content until a reviewer accepts the new one.
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="labels")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="labels"
    )
    current_version = models.ForeignKey(
        "LabelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    accepted_version = models.ForeignKey(
        "LabelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "annotator"], name="one_label_per_annotator")
        ]

    def __str__(self) -> str:
        return f"label of {self.image} by {self.annotator}"


class LabelVersion(models.Model):
    class Kind(models.TextChoices):
        MASK = "mask", "Mask"
        NEGATIVE = "negative", "No defect"
        UNSURE = "unsure", "Unsure"

    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    is_soft = models.BooleanField(default=False)
    mask = models.FileField(max_length=300, blank=True)
    positive_pixels = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label", "number"]
        constraints = [
            models.UniqueConstraint(fields=["label", "number"], name="unique_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.label} v{self.number} ({self.kind})"


class ReviewEvent(models.Model):
    """One step of a label's review, append-only: the annotator submits a version, a reviewer
    accepts or rejects it (a rejection says why)."""

    class Action(models.TextChoices):
        SUBMIT = "submit", "Submitted"
        ACCEPT = "accept", "Accepted"
        REJECT = "reject", "Rejected"

    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="reviews")
    version = models.ForeignKey(LabelVersion, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.version} by {self.actor}"


class Assignment(models.Model):
    """An image handed to an annotator by the queue, so that with an overlap of n no more than
    n people are sent the same image. It lapses when no label follows in time."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "user"], name="one_assignment_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.image} for {self.user}"


class PreLabel(models.Model):
    """A model's proposal for an image nobody has labelled yet: annotators start from it and
    correct it, and the queue sends the most uncertain images first."""

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="prelabel")
    model_version = models.ForeignKey(
        "training.ModelVersion", on_delete=models.CASCADE, related_name="+"
    )
    mask = models.FileField(max_length=300, help_text="probabilities as 8-bit grey (value/255)")
    uncertainty = models.FloatField(
        help_text="share of the image whose probability lies between 0.3 and 0.7"
    )
    max_probability = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"pre-label of {self.image} by {self.model_version}"


class ImportJob(models.Model):
    """An archive imported in the background: the stored upload, how far the worker got, and
    the per-item report. Progress commits with each item, so a killed worker's successor
    resumes at the first item not yet imported (see import_jobs.py)."""

    Status = RunStatus

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    archive = models.FileField(max_length=300, blank=True, help_text="emptied once finished")
    file_name = models.CharField(max_length=255, blank=True)
    mask_mode = models.CharField(max_length=10, default="binary")
    category = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text="items found in the archive")
    done = models.PositiveIntegerField(default=0, help_text="items imported or reported")
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.file_name or 'an archive'} ({self.status})"
