"""Navigation by role: each user sees the sections their roles in any project allow."""

from __future__ import annotations

from django.urls import reverse

from defect_platform.core.roles import LANDING, roles_with

SECTIONS = [
    # (key, label, url name, capability needed in at least one project)
    ("projects", "Projects", "projects", "view"),
    ("live", "Live line", "live", "inspect"),
    ("records", "Records", "records", "inspect"),
    ("audit", "Audit", "audit", "inspect"),
]


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    return set(user.memberships.values_list("role", flat=True))


def sections_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    roles = user_roles(user)
    items = []
    for key, label, url_name, capability in SECTIONS:
        if user.is_staff or roles & roles_with(capability):
            items.append({"key": key, "label": label, "url": reverse(url_name)})
    return items


def landing_for(user) -> str:
    """The url name a user lands on: supervisors on the line, engineers on projects."""
    roles = user_roles(user)
    for role in ("owner", "engineer", "supervisor", "inspector", "reviewer", "annotator"):
        if role in roles:
            return "live" if LANDING[role] == "live" else "projects"
    return "projects"


def navigation(request):
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {"nav_sections": sections_for(user)}
