from django.contrib import admin

from inspection.models import InspectionRecord, RecordMask, Station


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "fps", "created_at"]
    filter_horizontal = ["projects"]


class RecordMaskInline(admin.TabularInline):
    model = RecordMask
    extra = 0


@admin.register(InspectionRecord)
class InspectionRecordAdmin(admin.ModelAdmin):
    list_display = ["id", "station", "captured_at", "serial", "lot", "verdict", "latency_ms"]
    list_filter = ["verdict", "station"]
    inlines = [RecordMaskInline]
