"""The audit log of sensitive actions (model promotions, thresholds, roles, tokens, stations):
one call where the action happens, and who may read which entries."""

from __future__ import annotations

from django.db.models import Q

from defect_platform.core.access import projects_for_user
from defect_platform.core.models import AuditLogEntry

Action = AuditLogEntry.Action


def record(actor, action: str, project=None, target: str = "", **detail) -> AuditLogEntry:
    return AuditLogEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "system",
        action=action,
        project=project,
        target=str(target)[:200],
        detail=detail,
    )


def changes(before: dict, after: dict) -> dict:
    """{field: [old, new]} for the fields whose value changed."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def visible_to(user):
    """Staff see every entry; owners their projects' entries; everyone their own actions."""
    entries = AuditLogEntry.objects.select_related("project")
    if user.is_staff:
        return entries
    return entries.filter(Q(project__in=projects_for_user(user, "manage")) | Q(actor=user))
