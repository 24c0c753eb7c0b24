from django.contrib import admin

from training.models import ModelVersion, Promotion, TrainingJob


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "status", "progress", "attempts", "created_at"]
    list_filter = ["status", "project"]
    readonly_fields = ["log", "history", "snapshot"]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "number", "is_production", "threshold", "created_at"]
    list_filter = ["project", "is_production"]


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "model_version", "promoted_by", "created_at"]
