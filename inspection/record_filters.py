"""Filters of inspection records, shared by the records API and the records page.

Stations and defect types are offered only among those the user may see (inspection.access):
naming another one is refused like an unknown id, so guessing ids reveals nothing. A defect
type matches the records where its model found the defect (the record keeps a mask per
defective view), not every record it was checked on.
"""

from __future__ import annotations

import django_filters
from django import forms

from defect_platform.core.models import Project
from inspection.access import stations_for_user, visible_project_ids
from inspection.models import InspectionRecord, Station


def _stations(request):
    if request is None:
        return Station.objects.none()
    return stations_for_user(request.user)


def _defect_types(request):
    if request is None:
        return Project.objects.none()
    visible = visible_project_ids(request.user)
    return Project.objects.all() if visible is None else Project.objects.filter(pk__in=visible)


class RecordFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            self.add_error("until", "The range is empty: `until` must come after `since`.")
        return cleaned


def _moment_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class RecordFilter(django_filters.FilterSet):
    station = django_filters.ModelChoiceFilter(queryset=_stations, empty_label="all")
    verdict = django_filters.ChoiceFilter(
        choices=InspectionRecord.Verdict.choices, empty_label="all"
    )
    defect_type = django_filters.ModelChoiceFilter(
        queryset=_defect_types,
        empty_label="all",
        field_name="masks__project",
        distinct=True,  # an object with the defect in several views is listed once
        label="Defect type",
        help_text="project id of a defect type found on the object",
    )
    serial = django_filters.CharFilter(help_text="part serial, exactly")
    lot = django_filters.CharFilter(help_text="lot, exactly")
    since = django_filters.IsoDateTimeFilter(
        field_name="captured_at",
        lookup_expr="gte",
        label="Since",
        widget=_moment_input(),
        help_text="captured at or after (ISO 8601 date and time)",
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="captured_at",
        lookup_expr="lt",
        label="Until",
        widget=_moment_input(),
        help_text="captured before (ISO 8601 date and time)",
    )

    class Meta:
        model = InspectionRecord
        fields = ["station", "verdict", "defect_type", "serial", "lot", "since", "until"]
        form = RecordFilterForm
