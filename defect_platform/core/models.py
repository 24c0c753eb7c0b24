from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from defect_platform.core.roles import Role


class RunStatus(models.TextChoices):
    """Where a background run stands: imports, replays, fused models."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Project(models.Model):
    """One defect type with its own binary dataset, models and thresholds."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    color = models.CharField(
        max_length=7,
        default="#e4572e",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #e4572e.")],
    )
    labeling_guide = models.TextField(blank=True)
    decision_threshold = models.FloatField(
        default=0.5, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    min_defect_area = models.PositiveIntegerField(default=16, help_text="pixels")
    # Empty: jobs take the size the project's images suggest when they start (their usual
    # shape, short side at most 256): oblong tiles stretched to a square squeeze their defects.
    input_height = models.PositiveIntegerField(
        null=True, blank=True, help_text="pixels; empty: what the images suggest"
    )
    input_width = models.PositiveIntegerField(
        null=True, blank=True, help_text="pixels; empty: what the images suggest"
    )
    resize_policy = models.CharField(
        max_length=10,
        choices=[("resize", "Stretch to the input size"), ("letterbox", "Keep aspect, pad")],
        default="resize",
    )
    miss_cost = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01), MaxValueValidator(1000.0)],
        help_text="How many false rejects one missed defect is worth; empty: choose rules by F1",
    )
    audit_ok_sample = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="share of OK verdicts sent to inspectors for review (all NG go), so escapes "
        "get measured",
    )
    audit_double_sample = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="share of reviewed objects that several different inspectors judge "
        "(audit_double_inspectors; the others leave the review queue after one), to measure "
        "inspector-vs-inspector agreement",
    )
    audit_double_inspectors = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(2), MaxValueValidator(10)],
        help_text="how many different inspectors judge each object of the double-inspection "
        "sample; with more than two, Fleiss' kappa measures their agreement",
    )
    overlap = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="how many annotators label each image; with 2 or more, training uses their "
        "consensus (the mean mask) unless a reviewer accepted one label",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="one_role_per_project")
        ]
        ordering = ["project", "user"]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} in {self.project}"


class ProjectEvent(models.Model):
    """A durable event for project members (job progress, uploads).

    Workers write these first; the web process relays them to websockets, so progress survives
    restarts and crosses processes even with the in-memory channel layer.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "id"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Webhook(models.Model):
    """A URL told about a project's events, each POST signed with HMAC-SHA256 of the body."""

    class Event(models.TextChoices):
        VERDICT_NG = "verdict.ng", "An inspected object is NG"
        CAMERA_OFFLINE = "camera.offline", "A camera of a station went offline"
        CAMERA_ONLINE = "camera.online", "A camera came back"
        JOB_FINISHED = "job.finished", "A training job finished (succeeded, failed, cancelled)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128, help_text="key of the X-Signature-256 HMAC")
    events = models.JSONField(default=list, help_text="event names; empty means all")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"webhook {self.pk} → {self.url}"

    def wants(self, event: str) -> bool:
        return self.active and (not self.events or event in self.events)


class WebhookDelivery(models.Model):
    """One event for one webhook, and how its delivery went (the delivery log)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.event} to webhook {self.webhook_id}: {self.status}"


class AuditLogEntry(models.Model):
    """One sensitive action: who did what to which project, and when. Append-only: no view
    or API changes or deletes entries, and the actor's name stays when the user is gone."""

    class Action(models.TextChoices):
        TOKEN_CREATED = "token.created", "API token created"
        TOKEN_REVOKED = "token.revoked", "API token revoked"
        MEMBERSHIP_ADDED = "membership.added", "Member added"
        MEMBERSHIP_CHANGED = "membership.changed", "Member's role changed"
        MEMBERSHIP_REMOVED = "membership.removed", "Member removed"
        PROJECT_SETTINGS = "project.settings", "Project settings changed"
        MODEL_PROMOTED = "model.promoted", "Model promoted"
        MODEL_ROLLED_BACK = "model.rolled_back", "Model rolled back"
        STATION_STARTED = "station.started", "Station started"
        STATION_STOPPED = "station.stopped", "Station stopped"
        STATION_CAMERAS = "station.cameras", "Station cameras changed"
        STATION_THRESHOLDS = "station.thresholds", "Station decision rule changed"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=40, choices=Action.choices, db_index=True)
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target}"


class ServiceToken(models.Model):
    """An API token for an external system (MES, PLC gateway, script), acting as a service
    account: what it may reach is the account's project roles, narrowed by the token's scopes,
    until it expires or is revoked. Only a hash of the key is stored; the key is shown once."""

    class Scope(models.TextChoices):
        READ = "read", "Read (GET)"
        INSPECT = "inspect", "Inspect and trigger"
        WRITE = "write", "Every other write"

    name = models.CharField(max_length=80)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_tokens"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="service_tokens")
    key_prefix = models.CharField(
        max_length=12, help_text="the key's first characters, to tell keys apart"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"
