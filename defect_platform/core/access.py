"""Scoped lookups: the one way views, API endpoints and consumers find a project's objects.

A user outside a project gets 404 (nothing about the project is revealed); a member whose role
lacks the capability gets 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from defect_platform.core.models import Membership, Project
from defect_platform.core.roles import roles_with


def role_in(user, project: Project) -> str | None:
    if not user or not user.is_authenticated:
        return None
    cache = getattr(user, "_project_roles", None)
    if cache is None:
        cache = dict(Membership.objects.filter(user=user).values_list("project_id", "role"))
        user._project_roles = cache
    return cache.get(project.pk)


def can(user, project: Project, capability: str) -> bool:
    if not user or not user.is_authenticated:
        return False
    if user.is_staff:
        roles_with(capability)  # still reject unknown capabilities
        return True
    role = role_in(user, project)
    return role is not None and role in roles_with(capability)


def check(user, project: Project, capability: str) -> None:
    """Raise Http404 for outsiders, PermissionDenied for members without the capability."""
    if user and user.is_authenticated and user.is_staff:
        return
    role = role_in(user, project)
    if role is None:
        raise Http404("No such project.")
    if role not in roles_with(capability):
        raise PermissionDenied(f"Your role ({role}) in this project does not allow this.")


def projects_for_user(user, capability: str = "view") -> QuerySet[Project]:
    if not user or not user.is_authenticated:
        return Project.objects.none()
    if user.is_staff:
        return Project.objects.all()
    return Project.objects.filter(
        memberships__user=user, memberships__role__in=roles_with(capability)
    ).distinct()


def get_project_for_user(user, pk, capability: str = "view") -> Project:
    try:
        project = Project.objects.get(pk=int(pk))
    except (Project.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such project.") from None
    check(user, project, capability)
    return project


def get_scoped(queryset: QuerySet, user, pk, capability: str = "view", project_path="project"):
    """Fetch one object of a project-owned model, checked like its project."""
    try:
        obj = queryset.select_related(project_path).get(pk=int(pk))
    except (queryset.model.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("Not found.") from None
    project = obj
    for part in project_path.split("__"):
        project = getattr(project, part)
    try:
        check(user, project, capability)
    except Http404:
        raise Http404("Not found.") from None
    return obj
