"""Per-project roles and what each may do.

Capabilities, not roles, are what code checks: a view asks for "label" or "train", so adding a
role means editing this table only.
"""

from django.db import models


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    ENGINEER = "engineer", "Engineer"
    INSPECTOR = "inspector", "Inspector"
    SUPERVISOR = "supervisor", "Supervisor"
    OWNER = "owner", "Owner"


ALL_ROLES = frozenset(Role)

CAPABILITIES: dict[str, frozenset[str]] = {
    "view": ALL_ROLES,
    "label": frozenset({Role.ANNOTATOR, Role.REVIEWER, Role.ENGINEER, Role.OWNER}),
    "review": frozenset({Role.REVIEWER, Role.OWNER}),
    "import": frozenset({Role.ENGINEER, Role.OWNER}),
    "train": frozenset({Role.ENGINEER, Role.OWNER}),
    "inspect": frozenset({Role.INSPECTOR, Role.SUPERVISOR, Role.ENGINEER, Role.OWNER}),
    "manage": frozenset({Role.OWNER}),
    # Starting and stopping a station's capture: whoever runs the line or set it up.
    "operate": frozenset({Role.SUPERVISOR, Role.ENGINEER, Role.OWNER}),
    # Audit: inspectors and supervisors judge inspected objects; supervisors settle ties.
    "decide": frozenset({Role.INSPECTOR, Role.SUPERVISOR}),
    "adjudicate": frozenset({Role.SUPERVISOR}),
    # Sending production images to labeling grows the training data: supervisors (who settle
    # what the line saw), engineers and owners; inspectors judge but do not curate.
    "curate": frozenset({Role.SUPERVISOR, Role.ENGINEER, Role.OWNER}),
}

# Where each role lands after login (DESIGN.md section 11).
LANDING = {
    Role.ANNOTATOR: "annotate",
    Role.REVIEWER: "annotate",
    Role.ENGINEER: "projects",
    Role.OWNER: "projects",
    Role.INSPECTOR: "live",
    Role.SUPERVISOR: "live",
}


def roles_with(capability: str) -> frozenset[str]:
    try:
        return CAPABILITIES[capability]
    except KeyError:
        raise ValueError(f"unknown capability {capability!r}") from None
