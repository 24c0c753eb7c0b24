import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from defect_platform.core.access import can, check, get_project_for_user, projects_for_user
from defect_platform.core.roles import CAPABILITIES, Role


def test_every_role_may_view_but_only_listed_roles_may_train(make_user, project):
    for role in Role:
        user = make_user(f"u-{role}", role, project)
        assert can(user, project, "view")
        assert can(user, project, "train") == (role in (Role.ENGINEER, Role.OWNER))


def test_outsiders_get_404_and_members_without_the_capability_get_403(annotator, outsider, project):
    with pytest.raises(Http404):
        get_project_for_user(outsider, project.pk)
    with pytest.raises(PermissionDenied):
        check(annotator, project, "train")
    assert get_project_for_user(annotator, project.pk, "label") == project


def test_staff_see_every_project_without_membership(make_user, project, other_project):
    admin = make_user("admin", staff=True)
    assert set(projects_for_user(admin)) == {project, other_project}
    assert all(can(admin, project, capability) for capability in CAPABILITIES)


def test_unknown_capabilities_are_a_programming_error(owner, project):
    with pytest.raises(ValueError):
        can(owner, project, "fly")


def test_garbage_ids_are_not_found(owner):
    for pk in ("abc", None, 10**30, -1):
        with pytest.raises(Http404):
            get_project_for_user(owner, pk)
