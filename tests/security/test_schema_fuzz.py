"""Schema fuzzing: schemathesis generates requests for every operation of /api/schema/ and
sends them, signed in as a project owner, to the real Django application. No answer may be a
server error, and every answer must be one the schema documents, with a body that fits it."""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from annotation.services import add_image, save_label
from defect_platform.core.models import Membership, Project
from defect_platform.core.roles import Role
from defect_platform.wsgi import application
from inspection import triggering
from inspection.models import Station
from tests.conftest import make_image, png_bytes

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def owner_token(django_user_model, request):
    """An owner with a project that holds an image, a label and a station, so ids exist."""
    user = django_user_model.objects.create_user("fuzz-owner", password="pw-12345678")
    project = Project.objects.create(name="Fuzz", slug="fuzz")
    Membership.objects.create(user=user, project=project, role=Role.OWNER)
    image, _ = add_image(project, png_bytes(make_image(1)), "a.png", user)
    save_label(image, user, "mask", png_bytes(make_image(1)[:, :, 0] > 128), False, None)
    Station.objects.create(name="Fuzz line").projects.set([project])
    request.addfinalizer(triggering.close_all)
    return Token.objects.create(user=user).key


@pytest.mark.django_db(transaction=True)  # autocommit, as the server runs
@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,  # the same requests every run: a failure reproduces
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_within_its_schema(case, owner_token):
    case.call_and_validate(headers={"Authorization": f"Token {owner_token}"}, checks=CHECKS)
