from django.contrib import admin

from annotation.models import Image, Label, LabelVersion


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "source_name", "width", "height", "mode", "created_at"]
    list_filter = ["project"]
    search_fields = ["source_name", "sha256"]
    readonly_fields = ["sha256", "width", "height", "mode"]


class VersionInline(admin.TabularInline):
    model = LabelVersion
    fk_name = "label"
    extra = 0
    can_delete = False
    readonly_fields = [
        "number",
        "parent",
        "author",
        "kind",
        "is_soft",
        "mask",
        "positive_pixels",
        "created_at",
    ]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["id", "image", "annotator", "current_version", "updated_at"]
    inlines = [VersionInline]

    def has_delete_permission(self, request, obj=None):
        return False  # labels and their versions are never hard-deleted


@admin.register(LabelVersion)
class LabelVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "label", "number", "kind", "author", "created_at"]
    readonly_fields = [f.name for f in LabelVersion._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False
