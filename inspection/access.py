"""Scoped lookups for stations and records, which belong to several projects at once.

A user sees a station or record if they may inspect in at least one of its projects
(DESIGN.md section 12), and sees per-defect results only for projects they belong to.
"""

from __future__ import annotations

from django.http import Http404

from defect_platform.core.access import projects_for_user
from inspection.models import InspectionRecord, Station


def visible_project_ids(user) -> set[int] | None:
    """None means every project (staff)."""
    if user.is_staff:
        return None
    return set(projects_for_user(user).values_list("pk", flat=True))


def stations_for_user(user):
    if not user.is_authenticated:
        return Station.objects.none()
    if user.is_staff:
        return Station.objects.all()
    return Station.objects.filter(projects__in=projects_for_user(user, "inspect")).distinct()


def records_for_user(user):
    if not user.is_authenticated:
        return InspectionRecord.objects.none()
    if user.is_staff:
        return InspectionRecord.objects.all()
    return InspectionRecord.objects.filter(
        projects__in=projects_for_user(user, "inspect")
    ).distinct()


def _get(queryset, pk):
    try:
        return queryset.get(pk=int(pk))
    except (queryset.model.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("Not found.") from None


def get_station_for_user(user, pk) -> Station:
    return _get(stations_for_user(user), pk)


def get_record_for_user(user, pk) -> InspectionRecord:
    return _get(records_for_user(user), pk)
