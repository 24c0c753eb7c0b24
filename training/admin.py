from django.contrib import admin

from training.models import DatasetSnapshot, ModelVersion, Promotion, TrainingJob


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "status", "progress", "attempts", "created_at"]
    list_filter = ["status", "project"]
    readonly_fields = ["log", "history", "dataset"]


@admin.register(DatasetSnapshot)
class DatasetSnapshotAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "seed", "val_fraction", "created_at"]
    list_filter = ["project"]
    # Jobs and model versions depend on a snapshot staying exactly as it was.
    readonly_fields = ["project", "items", "validation", "seed", "val_fraction", "digest"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "number", "is_production", "threshold", "created_at"]
    list_filter = ["project", "is_production"]


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "model_version", "promoted_by", "created_at"]
