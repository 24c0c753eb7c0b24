"""Pages: login required, navigation and landing by role, scoped like the API."""

import pytest
from django.test import Client

from defect_platform.core.roles import Role
from inspection.models import Station


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_pages_need_a_login():
    response = Client().get("/projects/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_supervisors_land_on_the_line_and_engineers_on_projects(make_user, project):
    supervisor = make_user("sup", Role.SUPERVISOR, project)
    engineer = make_user("eng", Role.ENGINEER, project)
    assert _client(supervisor).get("/")["Location"] == "/live/"
    assert _client(engineer).get("/")["Location"] == "/projects/"


def test_navigation_shows_only_sections_the_role_allows(annotator, inspector):
    annotator_page = _client(annotator).get("/projects/").content.decode()
    inspector_page = _client(inspector).get("/projects/").content.decode()
    assert 'href="/live/"' not in annotator_page and 'href="/audit/"' not in annotator_page
    assert 'href="/live/"' in inspector_page and 'href="/audit/"' in inspector_page


def test_project_pages_are_scoped(owner, outsider, project, labelled_project):
    image = labelled_project.images.first()
    assert _client(owner).get(f"/projects/{project.pk}/").status_code == 200
    assert _client(owner).get(f"/images/{image.pk}/label/").status_code == 200
    assert _client(outsider).get(f"/projects/{project.pk}/").status_code == 404
    assert _client(outsider).get(f"/images/{image.pk}/label/").status_code == 404


def test_stations_are_visible_to_inspecting_roles_only(inspector, annotator, outsider, project):
    station = Station.objects.create(name="Line 9")
    station.projects.set([project])
    assert _client(inspector).get(f"/live/{station.pk}/").status_code == 200
    assert _client(annotator).get(f"/live/{station.pk}/").status_code == 404
    assert _client(outsider).get(f"/live/{station.pk}/").status_code == 404
    assert "Line 9" in _client(inspector).get("/live/").content.decode()


def test_empty_states_say_what_to_do_next(make_user):
    lonely = make_user("lonely")
    page = _client(lonely).get("/projects/").content.decode()
    assert "No projects yet" in page
