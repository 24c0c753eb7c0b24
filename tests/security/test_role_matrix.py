"""Every URL, every OpenAPI operation and every websocket route, against every role.

The expectations are written out by hand below, not derived from the code under test: a new
endpoint without a row here fails `test_every_route_has_a_row`. For each row the test checks
the project's own objects (allowed, 403 or 404 by role) and another project's objects (404 for
everyone but staff: guessing ids reveals nothing).
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.authtoken.models import Token

from annotation.models import ImportJob, PreLabel
from annotation.services import add_image, save_label
from defect_platform.asgi import application
from defect_platform.core import service_tokens
from defect_platform.core.models import Webhook
from defect_platform.core.storage import save_bytes
from inspection.models import InspectionRecord, RecordMask, RecordView, Replay, Station
from tests.conftest import make_image, png_bytes
from training.models import ModelVersion, TrainingJob

# The figures: run with --log-cli-level=INFO. The ASGI application is imported with the module
# because setting Django up for it applies LOGGING again, which in a test would drop pytest's
# log handlers.
log = logging.getLogger(__name__)

ROLES = ["annotator", "reviewer", "engineer", "inspector", "supervisor", "owner"]
EVERYONE = ["anonymous", "outsider", *ROLES, "staff"]

# Who may use a route on their own project's objects (staff may use every route). Written by
# hand from DESIGN.md sections 2 and 12.
MEMBERS = set(ROLES)
LABELLERS = {"annotator", "reviewer", "engineer", "owner"}
ENGINEERS = {"engineer", "owner"}
REVIEWERS = {"reviewer", "owner"}
INSPECTORS = {"inspector", "supervisor", "engineer", "owner"}
OWNERS = {"owner"}
OPERATORS = {"supervisor", "engineer", "owner"}
ANY_USER = {"outsider", *ROLES}  # any signed-in user (lists are filtered, checked below)
PUBLIC = {"anonymous", "outsider", *ROLES}

# (method, URL name, object kind the URL names, who may, what a member who may not gets).
# Object kinds: project, image, label (a version), label-row, job, model, station, record,
# import-job, none.
ROWS = [
    ("GET", "home", "none", ANY_USER, None),
    ("GET", "login", "none", PUBLIC, None),
    ("POST", "logout", "none", ANY_USER, None),
    ("GET", "projects", "none", ANY_USER, None),
    ("GET", "project", "project", MEMBERS, 404),
    ("GET", "compare-models", "project-compare", MEMBERS, 404),
    ("GET", "project-import", "project", ENGINEERS, 403),
    ("GET", "project-agreement", "project", MEMBERS, 404),
    ("GET", "label-image", "image", LABELLERS, 403),
    ("GET", "job", "job", MEMBERS, 404),
    ("GET", "live", "none", ANY_USER, None),
    ("GET", "station-live", "station", INSPECTORS, 404),
    ("GET", "station-setup", "station", INSPECTORS, 404),
    ("GET", "placement", "none", ANY_USER, None),
    ("GET", "audit", "none", ANY_USER, None),
    ("GET", "audit-report", "none", ANY_USER, None),
    ("GET", "records", "none", ANY_USER, None),  # filtered, checked in test_record_pages
    ("GET", "record", "record", INSPECTORS, 404),
    ("GET", "healthz", "none", PUBLIC, None),
    ("GET", "readyz", "none", PUBLIC, None),
    ("GET", "metrics", "none", PUBLIC, None),
    ("POST", "api-token", "none", PUBLIC, None),
    ("GET", "api-schema", "none", PUBLIC, None),
    ("GET", "api-docs", "none", PUBLIC, None),
    ("GET", "api-root", "none", ANY_USER, None),
    ("GET", "api-project-images", "project", MEMBERS, 404),
    ("POST", "api-project-images", "project", ENGINEERS, 403),  # adding data is importing
    ("POST", "api-project-import", "project", ENGINEERS, 403),
    ("GET", "api-project-import", "project", ENGINEERS, 403),
    ("GET", "api-import", "import-job", ENGINEERS, 403),
    ("GET", "api-project-export", "project", ENGINEERS, 403),
    ("GET", "api-image", "image", MEMBERS, 404),
    ("GET", "api-project-agreement", "project", MEMBERS, 404),
    ("GET", "api-image-agreement", "image", MEMBERS, 404),
    ("GET", "api-image-disagreement", "image", MEMBERS, 404),
    ("GET", "api-image-file", "image", MEMBERS, 404),
    ("GET", "api-image-labels", "image", MEMBERS, 404),
    ("POST", "api-image-labels", "image", LABELLERS, 403),
    ("GET", "api-project-queue", "project", LABELLERS, 403),
    ("POST", "api-project-queue", "project", LABELLERS, 403),
    ("GET", "api-project-review-queue", "project", REVIEWERS, 403),
    ("POST", "api-project-prelabels", "project", ENGINEERS, 403),
    # Only a label's own annotator submits it (AUTHOR_ONLY); the label here is the owner's.
    ("POST", "api-label-submit", "label-row", OWNERS, 403),
    ("POST", "api-label-review", "label-row", REVIEWERS, 403),
    ("GET", "api-label-reviews", "label-row", MEMBERS, 404),
    ("GET", "api-image-prelabel", "image", MEMBERS, 404),
    ("GET", "api-image-prelabel-mask", "image", MEMBERS, 404),
    ("GET", "api-label-version", "label", MEMBERS, 404),
    ("GET", "api-project-webhooks", "project", OWNERS, 403),
    ("POST", "api-project-webhooks", "project", OWNERS, 403),
    ("GET", "api-webhook", "webhook", OWNERS, 403),
    ("PATCH", "api-webhook", "webhook", OWNERS, 403),
    ("DELETE", "api-webhook", "webhook", OWNERS, 403),
    ("GET", "api-webhook-deliveries", "webhook", OWNERS, 403),
    ("GET", "api-label-version-mask", "label", MEMBERS, 404),
    ("GET", "api-project-jobs", "project", MEMBERS, 404),
    ("POST", "api-project-jobs", "project", ENGINEERS, 403),
    ("GET", "api-job", "job", MEMBERS, 404),
    ("POST", "api-job-cancel", "job", ENGINEERS, 403),
    ("GET", "api-project-models", "project", MEMBERS, 404),
    ("POST", "api-project-rollback", "project", ENGINEERS, 403),
    ("GET", "api-project-promotions", "project", MEMBERS, 404),
    ("GET", "api-model-compare", "model-pair", MEMBERS, 404),
    ("GET", "api-model", "model", MEMBERS, 404),
    ("GET", "api-model-predict", "model-image", MEMBERS, 404),
    ("POST", "api-model-promote", "model", ENGINEERS, 403),
    ("POST", "api-model-shadow", "model", ENGINEERS, 403),
    ("GET", "api-model-replays", "model", MEMBERS, 404),
    ("POST", "api-model-replays", "model", ENGINEERS, 403),
    ("GET", "api-replay", "replay", MEMBERS, 404),
    ("GET", "api-project-challenger", "project", INSPECTORS, 403),
    ("POST", "api-inspect", "inspect", INSPECTORS, 403),
    ("GET", "api-stations", "none", ANY_USER, None),
    ("GET", "api-audit-log", "none", ANY_USER, None),  # filtered, checked in test_audit_log
    ("GET", "api-project-service-tokens", "project", OWNERS, 403),
    ("POST", "api-project-service-tokens", "project", OWNERS, 403),
    ("DELETE", "api-service-token", "service-token", OWNERS, 403),
    ("GET", "api-placement", "none", ANY_USER, None),
    ("GET", "api-station", "station", INSPECTORS, 404),
    # The NG-rate alert is set up with the cameras: engineers and owners.
    (
        "PATCH",
        "api-station",
        "station",
        ENGINEERS,
        {"inspector": 403, "supervisor": 403, "default": 404},
    ),
    ("POST", "api-station-trigger", "station", INSPECTORS, 404),
    # Inspectors see the station but running the line is for supervisors, engineers, owners.
    ("POST", "api-station-stop", "station", OPERATORS, {"inspector": 403, "default": 404}),
    ("POST", "api-station-start", "station", OPERATORS, {"inspector": 403, "default": 404}),
    # Members who cannot see the station get 404; inspectors see it but may not set it up.
    (
        "POST",
        "api-camera-reference",
        "station-camera",
        ENGINEERS,
        {"inspector": 403, "supervisor": 403, "default": 404},
    ),
    # Fused models span the station's projects: training one, or choosing one, needs the
    # engineer or owner role in every one of them.
    ("GET", "api-station-fused-models", "station", INSPECTORS, 404),
    (
        "POST",
        "api-station-fused-models",
        "station",
        ENGINEERS,
        {"inspector": 403, "supervisor": 403, "default": 404},
    ),
    (
        "POST",
        "api-station-fused-select",
        "station",
        ENGINEERS,
        {"inspector": 403, "supervisor": 403, "default": 404},
    ),
    ("GET", "api-station-cameras", "station", INSPECTORS, 404),
    (
        "PUT",
        "api-station-cameras",
        "station",
        ENGINEERS,
        {"inspector": 403, "supervisor": 403, "default": 404},
    ),
    ("GET", "api-station-thresholds", "station", INSPECTORS, 404),
    (
        "PATCH",
        "api-station-thresholds",
        "station",
        ENGINEERS,
        {"inspector": 403, "supervisor": 403, "default": 404},
    ),
    (
        "POST",
        "api-camera-probe",
        "station-camera",
        ENGINEERS,
        {"inspector": 403, "supervisor": 403, "default": 404},
    ),
    ("GET", "api-records", "none", ANY_USER, None),
    ("GET", "api-record", "record", INSPECTORS, 404),
    ("GET", "api-record-mask", "record-mask", INSPECTORS, 404),
    ("GET", "api-record-view", "record-view", INSPECTORS, 404),
    ("GET", "api-record-decisions", "record", INSPECTORS, 404),
    # Engineers and owners see records but judging them is the inspectors' job.
    (
        "POST",
        "api-record-decisions",
        "record",
        {"inspector", "supervisor"},
        {"engineer": 403, "owner": 403, "default": 404},
    ),
    ("GET", "api-review-queue", "none", ANY_USER, None),
    ("GET", "api-project-audit", "project", INSPECTORS, 403),
    ("GET", "api-project-audit-trends", "project", INSPECTORS, 403),
    ("GET", "api-project-audit-disagreements", "project", INSPECTORS, 403),
    # Sending images to labeling grows the training data: supervisors (who settle what the
    # line saw) and those who may import data; inspectors only judge.
    (
        "POST",
        "api-project-audit-send-to-labeling",
        "project",
        {"supervisor", "engineer", "owner"},
        403,
    ),
    ("GET", "api-project-audit-reports", "project", INSPECTORS, 403),
    # Settling ties is the supervisors' job; the rest of the inspecting roles may not.
    ("GET", "api-project-audit-ties", "project", {"supervisor"}, 403),
    ("GET", "api-project-diagnosis", "project", INSPECTORS, 403),
    ("GET", "api-project-prevalence", "project", INSPECTORS, 403),
    ("GET", "project-list", "none", ANY_USER, None),
    # Like CVAT and Label Studio: anyone signed in may start a project and becomes its owner.
    ("POST", "project-list", "none", ANY_USER, None),
    ("GET", "project-detail", "project", MEMBERS, 404),
    ("PATCH", "project-detail", "project", OWNERS, 403),
    ("PUT", "project-detail", "project", OWNERS, 403),
    ("GET", "membership-list", "project", MEMBERS, 404),
    ("POST", "membership-list", "project", OWNERS, 403),
    ("GET", "membership-detail", "membership", MEMBERS, 404),
    ("DELETE", "membership-detail", "membership", OWNERS, 403),
    ("PATCH", "membership-detail", "membership", OWNERS, 403),
]
WEBSOCKETS = [
    # (route, object kind, who may)
    ("ws/projects/<int:pk>/events/", "project", MEMBERS),
    ("ws/stations/<int:pk>/live/", "station", INSPECTORS),
]
# Routes only an object's author may use: not even staff act in someone else's name.
AUTHOR_ONLY = {"api-label-submit"}
# Routes with no row on purpose: format-suffix twins of listed routes, and the admin site
# (Django's own staff check).
UNLISTED = {"api-root-format"}


def _routes():
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if str(p.pattern).startswith("admin/"):
                    continue
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p.name

    return list(walk(get_resolver().url_patterns))


def test_every_route_has_a_row():
    named = {name for route, name in _routes() if "(?P<format>" not in route and name}
    named -= UNLISTED
    named.discard("api-root")  # listed; the format twin shares its name
    listed = {name for _, name, *_ in ROWS}
    assert named - listed == set(), "routes without an expectation row"
    assert listed - named - {"api-root"} == set(), "rows for routes that no longer exist"
    from defect_platform.routing import websocket_urlpatterns

    assert [str(p.pattern) for p in websocket_urlpatterns] == [w[0] for w in WEBSOCKETS]


@pytest.fixture
def world(trained_model, other_project, make_user, tmp_path):
    """A project with every kind of object, a second project with the same, a user per role."""
    project = trained_model.project
    users = {role: make_user(f"r-{role}", role, project) for role in ROLES}
    users["outsider"] = make_user("r-outsider", "owner", other_project)
    users["staff"] = make_user("r-staff", staff=True)
    users["anonymous"] = None
    objects = {"mine": _objects(project, trained_model, users["owner"]), "theirs": None}
    other_owner = users["outsider"]
    image, _ = add_image(other_project, png_bytes(make_image(9)), "q.png", other_owner)
    mask = save_label(
        image, other_owner, "mask", png_bytes(make_image(9)[:, :, 0] > 128), False, None
    )
    job = TrainingJob.objects.create(project=other_project, params={}, status="succeeded")
    model = ModelVersion.objects.create(
        project=other_project,
        job=job,
        number=1,
        threshold=0.5,
        min_area=1,
        input_height=64,
        input_width=64,
        weights=trained_model.weights.name,
        onnx=trained_model.onnx.name,
        metadata=trained_model.metadata,
    )
    objects["theirs"] = _objects(other_project, model, other_owner, image=image, label=mask)
    return users, objects


def _objects(project, model, owner, image=None, label=None):
    if image is None:
        image = project.images.order_by("pk").first()
        painted = make_image(3, (image.height, image.width))[:, :, 0] > 128
        label = save_label(image, owner, "mask", png_bytes(painted), False, None)
    PreLabel.objects.create(
        image=image,
        model_version=model,
        mask=save_bytes(f"prelabels/{image.pk}.png", png_bytes(make_image(2)[:, :, 0])),
        uncertainty=0.1,
        max_probability=0.9,
    )
    station = Station.objects.create(name=f"S {project.slug}")
    station.projects.add(project)
    record = InspectionRecord.objects.create(
        station=station,
        captured_at=timezone.now(),
        verdict="ng",
        result={"verdict": "ng", "defects": [], "models": [], "quality": {}},
        created_by=owner,
    )
    record.projects.add(project)
    mask = RecordMask.objects.create(
        record=record,
        project=project,
        camera="cam1",
        file=save_bytes(f"records/{record.pk}-mask.png", png_bytes(make_image(1)[:, :, 0])),
    )
    view = RecordView.objects.create(
        record=record,
        camera="cam1",
        file=save_bytes(f"records/{record.pk}-view.jpg", b"\xff\xd8 not decoded here"),
    )
    webhook = Webhook.objects.create(
        project=project, url="http://127.0.0.1:9/hook", secret="s" * 32
    )
    replay = Replay.objects.create(model_version=model, report={"objects": 0})
    service_token, _ = service_tokens.create(project, owner, "gate", "inspector", ["read"], 30)
    return {
        "service-token": service_token,
        "replay": replay,
        "webhook": webhook,
        "record-view": view,
        "project": project,
        "image": image,
        "label": label,
        "job": model.job,
        "model": model,
        "station": station,
        "record": record,
        "record-mask": mask,
        "membership": project.memberships.order_by("pk").first(),
        "import-job": ImportJob.objects.create(
            project=project, created_by=owner, status="succeeded"
        ),
    }


def _url(name: str, kind: str, o: dict) -> str:
    from django.urls import reverse

    by_kind = {
        "none": {},
        "inspect": {},
        "project": {"pk" if name in _PK_NAMES else "project_pk": o["project"].pk},
        "image": {"pk": o["image"].pk},
        "label": {"pk": o["label"].pk},
        "label-row": {"pk": o["label"].label_id},
        "job": {"pk": o["job"].pk},
        "model": {"pk": o["model"].pk},
        "model-pair": {},
        "project-compare": {"pk": o["project"].pk},
        "model-image": {"pk": o["model"].pk, "image_pk": o["image"].pk},
        "station": {"pk": o["station"].pk},
        "station-camera": {"pk": o["station"].pk, "camera": "cam1"},
        "record": {"pk": o["record"].pk},
        "record-mask": {"pk": o["record"].pk, "mask_pk": o["record-mask"].pk},
        "record-view": {"pk": o["record"].pk, "view_pk": o["record-view"].pk},
        "webhook": {"pk": o["webhook"].pk},
        "replay": {"pk": o["replay"].pk},
        "membership": {"project_pk": o["project"].pk, "pk": o["membership"].pk},
        "import-job": {"pk": o["import-job"].pk},
        "service-token": {"pk": o["service-token"].pk},
    }
    url = reverse(name, kwargs=by_kind[kind])
    if kind in ("model-pair", "project-compare"):
        url += f"?a={o['model'].pk}&b={o['model'].pk}"
    return url


_PK_NAMES = {"project", "compare-models", "project-detail", "project-agreement", "project-import"}


def _request(client: Client, method: str, url: str, kind: str, o: dict):
    data = {}
    if kind == "inspect":
        data = {"project": o["project"].pk}
    if method == "GET":
        return client.get(url)
    if method in ("PATCH", "PUT"):
        call = client.patch if method == "PATCH" else client.put
        return call(url, "{}", content_type="application/json")
    if method == "DELETE":
        # A throwaway membership, so the rows the other checks rely on stay.
        from defect_platform.core.models import Membership

        user = get_user_model().objects.create_user(f"gone-{uuid.uuid4().hex[:12]}")
        victim = Membership.objects.create(project=o["project"], user=user, role="annotator")
        return client.delete(re.sub(r"/members/\d+/", f"/members/{victim.pk}/", url))
    return client.post(url, data)


def _outcome(response) -> str:
    code = response.status_code
    if code in (401, 403) or (code == 302 and "/login/" in response.get("Location", "")):
        return "denied"
    if code == 404:
        return "hidden"
    if code == 503 and response.get("Content-Type", "").startswith("application/json"):
        return "allowed"  # /readyz answering "not ready" is a reply, not an access decision
    if code >= 500:
        return f"error {code}"
    return "allowed"  # 2xx, 3xx, or a 400/405/409 about the request itself


def _client(user) -> Client:
    client = Client(HTTP_HOST="localhost")
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.django_db
def test_every_role_gets_what_the_table_says(world):
    users, objects = world
    problems = []
    checks = 0
    for method, name, kind, allowed, refused in ROWS:
        for role in EVERYONE:
            client = _client(users[role])
            for side in ("mine", "theirs"):
                if kind == "none" and side == "theirs":
                    continue
                if name == "logout" and role != "anonymous":
                    continue  # logging out would end the session the loop reuses
                url = _url(name, kind, objects[side])
                got = _outcome(_request(client, method, url, kind, objects[side]))
                checks += 1
                want = _expected(role, side, kind, allowed, refused, method)
                if role == "staff" and name in AUTHOR_ONLY:
                    want = "denied"
                if got != want and not (want == "denied-or-hidden" and got in ("denied", "hidden")):
                    problems.append(f"{role:10s} {method:6s} {url} ({side}): {got}, want {want}")
    sides = sum(1 if kind == "none" else 2 for _, _, kind, *_ in ROWS)
    log.info(
        "role matrix: %d routes x %d roles over %d route-sides (own objects, and another "
        "project's where the route names one): %d checks, one request each",
        len(ROWS),
        len(EVERYONE),
        sides,
        checks,
    )
    assert problems == [], "\n" + "\n".join(problems)


def _expected(role, side, kind, allowed, refused, method) -> str:
    if role == "staff":
        return "allowed"
    if role == "outsider" and side == "theirs":
        role = "owner"  # the outsider owns the other project
        side = "mine"
    if isinstance(refused, dict):
        refused = refused.get(role, refused["default"])
    if role == "anonymous":
        return "allowed" if role in allowed else "denied"
    if kind in ("none", "inspect") and side == "mine":
        if kind == "inspect" and role == "outsider":
            return "hidden"  # the project named in the form is not theirs
        return "allowed" if role in allowed else ("denied" if refused == 403 else "hidden")
    if side == "theirs" or role == "outsider":
        return "hidden"
    if role in allowed:
        return "allowed"
    return "denied" if refused == 403 else "hidden"


@pytest.mark.django_db
def test_lists_show_only_the_users_projects(world):
    users, objects = world
    mine, theirs = objects["mine"], objects["theirs"]
    for path, key in (
        ("/api/stations/", "station"),
        ("/api/records/", "record"),
        ("/api/projects/", "project"),
    ):
        for role in ("annotator", "inspector", "outsider"):
            ids = {row["id"] for row in _client(users[role]).get(path).json()["results"]}
            assert theirs[key].pk not in ids or role == "outsider", (role, path)
            sees_mine = mine[key].pk in ids
            expected = role in (INSPECTORS if key != "project" else MEMBERS)
            assert sees_mine == expected, (role, path)


@pytest.mark.django_db(transaction=True)
def test_websockets_check_role_and_origin(world):
    users, objects = world
    tokens = {r: Token.objects.get_or_create(user=u)[0].key for r, u in users.items() if u}

    async def close_code(path, token, origin=b"http://localhost"):
        headers = [(b"origin", origin)] if origin else []
        communicator = WebsocketCommunicator(application, f"{path}?token={token}", headers)
        connected, _ = await communicator.connect()
        if not connected:
            return "rejected"
        while True:
            message = await communicator.receive_output(timeout=5)
            if message["type"] == "websocket.close":
                return message.get("code")
            if message["type"] == "websocket.send":
                await communicator.disconnect()
                return "open"

    connections = 0

    async def scenario():
        nonlocal connections
        problems = []
        for route, kind, allowed in WEBSOCKETS:
            for side in ("mine", "theirs"):
                path = "/" + route.replace("<int:pk>", str(objects[side][kind].pk))
                for role in EVERYONE:
                    got = await close_code(path, tokens.get(role, ""))
                    connections += 1
                    owns_theirs = role == "outsider" and side == "theirs"
                    if role == "staff" or owns_theirs or (side == "mine" and role in allowed):
                        want = "open"
                    elif role == "anonymous":
                        want = 4401
                    else:
                        want = 4404
                    if got != want:
                        problems.append(f"{role} {path}: {got}, want {want}")
            path = "/" + route.replace("<int:pk>", str(objects["mine"][kind].pk))
            foreign = await close_code(path, tokens["owner"], b"http://evil.example")
            connections += 1
            if foreign not in ("rejected", 4403):
                problems.append(f"foreign origin on {path}: {foreign}")
        return problems

    problems = asyncio.run(scenario())
    log.info(
        "websockets: %d routes x %d roles x 2 sides, plus a foreign Origin each = %d connections",
        len(WEBSOCKETS),
        len(EVERYONE),
        connections,
    )
    assert problems == []


@pytest.mark.django_db
def test_every_openapi_operation_has_a_row(client_for, make_user):
    from django.urls import resolve

    schema = client_for(make_user("schema-reader")).get("/api/schema/?format=json").json()
    rows = {(method, name) for method, name, *_ in ROWS}
    missing = []
    operations_seen = 0
    for path, operations in schema["paths"].items():
        name = resolve(re.sub(r"\{[^}]+\}", "1", path)).url_name
        for method in operations:
            if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                continue
            operations_seen += 1
            if (method.upper(), name) not in rows:
                missing.append(f"{method.upper()} {path} ({name})")
    log.info("OpenAPI: %d operations, each with a row in the role matrix", operations_seen)
    assert missing == []


# Writes that no browser session makes: the token exchange takes a password, not a cookie.
NO_SESSION_WRITES = {"api-token"}


@pytest.mark.django_db
def test_every_session_write_needs_the_csrf_token(world):
    """Staff may use every route, so a 403 here can only be the CSRF check: a page on another
    site cannot make a signed-in browser write anything."""
    users, objects = world
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    client.force_login(users["staff"])
    writes = [row for row in ROWS if row[0] != "GET" and row[1] not in NO_SESSION_WRITES]
    unguarded = []
    for method, name, kind, *_ in writes:
        url = _url(name, kind, objects["mine"])
        response = _request(client, method, url, kind, objects["mine"])
        body = response.content.decode(errors="replace")
        if response.status_code != 403 or "CSRF" not in body:
            unguarded.append(f"{method} {url}: {response.status_code}")
    log.info("CSRF: %d session-authenticated writes refused without the token", len(writes))
    assert len(writes) >= 30
    assert unguarded == []
    # The same session with its token gets through (the check is the token, not the method).
    client.get("/projects/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        f"/api/projects/{objects['mine']['project'].pk}/images/", {}, HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 400, response.content
