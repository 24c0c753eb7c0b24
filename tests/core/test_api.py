import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from defect_platform.core.models import Membership


@pytest.mark.django_db
def test_token_endpoint_returns_a_token_that_authenticates(owner):
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "owner", "password": "pw-12345678"})
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/projects/").status_code == 200


@pytest.mark.django_db
def test_token_endpoint_refuses_wrong_passwords_with_the_error_body(owner):
    response = APIClient().post("/api/auth/token/", {"username": "owner", "password": "nope"})
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code", "errors"}


@pytest.mark.django_db
def test_unauthenticated_calls_get_401():
    response = APIClient().get("/api/projects/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_project_list_shows_only_the_users_projects(client_for, owner, outsider, project):
    names = [p["name"] for p in client_for(owner).get("/api/projects/").json()["results"]]
    assert names == ["Crack"]
    assert client_for(outsider).get(f"/api/projects/{project.pk}/").status_code == 404


def test_invalid_payload_names_the_field(client_for, make_user):
    creator = make_user("creator")
    creator.user_permissions.add(Permission.objects.get(codename="add_project"))
    response = client_for(creator).post(
        "/api/projects/", {"name": "Dent", "slug": "dent", "input_width": 100}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert "input_width" in body["errors"]
    assert body["detail"].startswith("input_width")


def test_creating_a_project_makes_the_creator_its_owner(client_for, make_user):
    creator = make_user("creator")
    assert (
        client_for(creator).post("/api/projects/", {"name": "Dent", "slug": "dent"}).status_code
        == 403
    )
    creator.user_permissions.add(Permission.objects.get(codename="add_project"))
    creator = type(creator).objects.get(pk=creator.pk)
    response = client_for(creator).post("/api/projects/", {"name": "Dent", "slug": "dent"})
    assert response.status_code == 201
    assert response.json()["my_role"] == "owner"


def test_only_owners_manage_members(client_for, owner, annotator, make_user, project):
    make_user("newbie")
    url = f"/api/projects/{project.pk}/members/"
    assert client_for(annotator).get(url).status_code == 200
    assert (
        client_for(annotator).post(url, {"username": "newbie", "role": "reviewer"}).status_code
        == 403
    )
    response = client_for(owner).post(url, {"username": "newbie", "role": "reviewer"})
    assert response.status_code == 201
    assert Membership.objects.get(user__username="newbie").role == "reviewer"
    duplicate = client_for(owner).post(url, {"username": "newbie", "role": "engineer"})
    assert duplicate.status_code == 400


def test_the_last_owner_cannot_be_removed(client_for, owner, project):
    membership = Membership.objects.get(user=owner, project=project)
    response = client_for(owner).delete(f"/api/projects/{project.pk}/members/{membership.pk}/")
    assert response.status_code == 400
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_schema_and_docs_are_served(client_for, owner):
    schema = client_for(owner).get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/inspect/" in paths and "/api/auth/token/" in paths
    assert client_for(owner).get("/api/docs/").status_code == 200
