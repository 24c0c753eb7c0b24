from django.conf import settings
from django.db import models

from defect_platform.core.models import Project


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
    """One annotator's label for one image; its content lives in immutable versions."""

    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="labels")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="labels"
    )
    current_version = models.ForeignKey(
        "LabelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
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
