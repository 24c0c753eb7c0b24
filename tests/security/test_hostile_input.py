"""A corpus of hostile inputs, generated here, against every endpoint that takes data: each
gets a 4xx with a message, never a 5xx, and leaves no rows or files behind.

The number of hostile inputs tried is logged at the end of the module (run with
--log-cli-level=INFO to see it).
"""

from __future__ import annotations

import io
import json
import logging
import struct
import zipfile
import zlib
from collections import Counter

import numpy as np
import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image as PILImage

from annotation.models import Image
from annotation.services import add_image
from defect_platform.core.models import Membership, Project, Webhook
from defect_platform.core.storage import save_bytes
from inspection.models import InspectionRecord, RecordView, Station
from tests.conftest import make_image, png_bytes, zip_bytes
from training.models import ModelVersion, TrainingJob

log = logging.getLogger(__name__)
TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_corpus_size():
    yield
    log.info(
        "hostile inputs tried: %d (%s)",
        sum(TRIED.values()),
        ", ".join(f"{what} {n}" for what, n in sorted(TRIED.items())),
    )


def _jpeg(seed=0, size=(32, 32)) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(make_image(seed, size)).save(buf, format="JPEG")
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming huge dimensions: a decompression bomb's
    header, without the bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


BAD_IMAGES = {
    "truncated.jpg": _jpeg()[:200],
    "truncated.png": png_bytes(make_image(1))[:120],
    "empty.jpg": b"",
    "text-as.jpg": b"this is not an image at all\n" * 10,
    "page.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "page.html": b"<html><body><script>alert(1)</script></body></html>",
    "bomb.png": _png_header_only(100_000, 100_000),
    "exe.png": b"MZ\x90\x00" + b"\x00" * 200,
    "name\u202eexe.png": b"GIF89a" + b"\x00" * 20,
}


APPS = ("core", "annotation", "training", "inspection")
# Events tell a project's members what happened, a refused import included: not data.
NOT_DATA = {"core.ProjectEvent"}


def _snapshot_state():
    """Row counts of every model of the platform, the rows a refused edit could change, and
    the media files."""
    media = settings.MEDIA_ROOT
    files = sorted(p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file())
    counts = {
        model._meta.label: model.objects.count()
        for label in APPS
        for model in apps.get_app_config(label).get_models()
        if model._meta.label not in NOT_DATA
    }
    rows = {
        "stations": list(Station.objects.order_by("pk").values()),
        "webhooks": list(Webhook.objects.order_by("pk").values()),
        "memberships": list(Membership.objects.order_by("pk").values()),
        "projects": list(Project.objects.order_by("pk").values()),
    }
    return counts, rows, files


def _assert_refused(response, what, field=None, kind="refused"):
    """A 4xx whose body is the API's error shape with a message; with `field`, the error
    names it (the input was refused for the right reason)."""
    TRIED[kind] += 1
    assert 400 <= response.status_code < 500, (what, response.status_code, response.content[:300])
    body = response.json()
    assert body.get("detail") and body.get("code") and "errors" in body, (what, body)
    if field is not None:
        assert field in body["errors"] or field in body["detail"], (what, field, body)


@pytest.mark.django_db
def test_bad_image_uploads_are_refused_each_with_a_reason_and_nothing_is_kept(
    project, owner, client_for
):
    client = client_for(owner)
    before = _snapshot_state()
    for name, data in BAD_IMAGES.items():
        response = client.post(
            f"/api/projects/{project.pk}/images/",
            {"files": [SimpleUploadedFile(name, data)]},
            format="multipart",
        )
        _assert_refused(response, name, kind="image uploads")
    assert _snapshot_state() == before


@pytest.mark.django_db
def test_bad_masks_are_refused_and_the_label_keeps_its_versions(project, owner, client_for):
    client = client_for(owner)
    image_response = client.post(
        f"/api/projects/{project.pk}/images/",
        {"files": [SimpleUploadedFile("ok.png", png_bytes(make_image(3)))]},
        format="multipart",
    )
    assert image_response.status_code == 201, image_response.json()
    image = Image.objects.get(project=project)
    before = _snapshot_state()
    wrong_size = png_bytes(np.zeros((10, 10), np.uint8))
    cases = {
        "wrong size": {"kind": "mask", "mask": SimpleUploadedFile("m.png", wrong_size)},
        "jpeg mask": {"kind": "mask", "mask": SimpleUploadedFile("m.jpg", _jpeg(size=(64, 64)))},
        "truncated": {"kind": "mask", "mask": SimpleUploadedFile("m.png", wrong_size[:60])},
        "no mask": {"kind": "mask"},
        "unknown kind": {"kind": "maybe"},
        "bad base": {"kind": "negative", "base_version": "-3"},
        "huge base": {"kind": "negative", "base_version": str(10**30)},
        "nan base": {"kind": "negative", "base_version": "NaN"},
    }
    for what, data in cases.items():
        response = client.post(f"/api/images/{image.pk}/labels/", data, format="multipart")
        _assert_refused(response, what, kind="masks")
    assert _snapshot_state() == before


@pytest.mark.django_db
def test_hostile_job_parameters_are_refused_before_any_worker_time(
    labelled_project, owner, client_for
):
    client = client_for(owner)
    url = f"/api/projects/{labelled_project.pk}/jobs/"
    cases = [
        {"epochs": -1},
        {"epochs": 10**12},
        {"lr": 0},
        {"lr": "NaN"},
        {"lr": "Infinity"},
        {"input_size": [250, 256]},
        {"input_size": [256]},
        {"input_size": "256x256"},
        {"batch_size": 0},
        {"loss": "\u0000bce"},
        {"val_fraction": 2},
        {"snapshot_from": 10**9},
        {"precision": "fp8"},
    ]
    before = _snapshot_state()
    for params in cases:
        response = client.post(url, params, format="json")
        _assert_refused(response, params, kind="job parameters")
    assert _snapshot_state() == before


@pytest.mark.django_db
def test_malformed_and_deeply_nested_json_gets_a_clear_400(labelled_project, owner, client_for):
    client = client_for(owner)
    url = f"/api/projects/{labelled_project.pk}/jobs/"
    nested = "[" * 100_000 + "]" * 100_000
    for body in ('{"epochs": 3', "\xff\xfe", nested, json.dumps({"epochs": [[[[1]]]]})):
        response = client.generic(
            "POST", url, body.encode("utf-8", "surrogatepass"), "application/json"
        )
        _assert_refused(response, body[:20], kind="malformed json")


@pytest.mark.django_db
def test_hostile_archives_import_nothing_bad(project, owner, client_for):
    def archive(entries):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in entries.items():
                zf.writestr(name, data)
        return buf.getvalue()

    client = client_for(owner)
    before = _snapshot_state()
    cases = {
        "garbage": b"PK\x03\x04 not really a zip",
        "only bad": archive({"../escape.png": png_bytes(make_image(1)), "a.jpg": b"nope"}),
        "bad json": archive({"coco.json": b'{"images": [{"id": 1}], "annotations": []}'}),
    }
    for what, data in cases.items():
        response = client.post(
            f"/api/projects/{project.pk}/imports/",
            {"archive": SimpleUploadedFile("x.zip", data)},
            format="multipart",
        )
        _assert_refused(response, what, kind="archives")
    assert _snapshot_state() == before


@pytest.mark.django_db
def test_hostile_inspect_requests_are_refused(trained_model, owner, client_for):
    client = client_for(owner)
    project = trained_model.project
    before = _snapshot_state()
    cases = {
        "no images": {"project": project.pk},
        "bad image": {"project": project.pk, "images": [SimpleUploadedFile("x.jpg", b"nope")]},
        "bomb": {
            "project": project.pk,
            "images": [SimpleUploadedFile("b.png", BAD_IMAGES["bomb.png"])],
        },
        "project nan": {
            "project": "NaN",
            "images": [SimpleUploadedFile("a.png", png_bytes(make_image(2)))],
        },
        "long serial": {
            "project": project.pk,
            "serial": "x" * 10_000,
            "images": [SimpleUploadedFile("a.png", png_bytes(make_image(2)))],
        },
    }
    for what, data in cases.items():
        response = client.post("/api/inspect/", data, format="multipart")
        _assert_refused(response, what, kind="inspect uploads")
    assert _snapshot_state() == before


@pytest.mark.django_db
def test_unicode_and_control_characters_in_names_are_stored_safely(project, owner, client_for):
    client = client_for(owner)
    name = "défaut\u202e\u0000\n<script>.png"
    response = client.post(
        f"/api/projects/{project.pk}/images/",
        {"files": [SimpleUploadedFile(name, png_bytes(make_image(4)))]},
        format="multipart",
    )
    TRIED["names"] += 1
    assert response.status_code == 201, response.json()
    image = Image.objects.get(project=project)
    assert "\x00" not in image.source_name and "\n" not in image.source_name
    assert ".." not in image.file.name and "<" not in image.file.name


# --- Request size limits --------------------------------------------------------------------


@pytest.fixture
def small_limits(settings, tmp_path):
    """Bodies above 64 KiB refused, import uploads above 256 KiB; any file part a parser did
    read would spill to this folder (above 1 KiB), so a test sees that none was written."""
    settings.MAX_UPLOAD_BYTES = 64 * 1024
    settings.MAX_IMPORT_BYTES = 256 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    spill = tmp_path / "upload-spill"
    spill.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spill)
    return spill


def _noise_png(side: int, seed: int = 0) -> bytes:
    """A PNG that does not compress: about 3 x side² bytes."""
    return png_bytes(make_image(seed, (side, side)))


def _assert_too_large(response, what, setting="MAX_UPLOAD_MB"):
    _assert_refused(response, what, kind="oversized bodies")
    assert response.status_code == 413, (what, response.status_code)
    body = response.json()
    assert body["code"] == "too_large" and setting in body["detail"], (what, body)
    assert "MB" in body["detail"], body


@pytest.mark.django_db
def test_oversized_uploads_are_refused_before_anything_is_read(
    project, owner, client_for, small_limits
):
    client = client_for(owner)
    image, _ = add_image(project, png_bytes(make_image(5)), "base.png", owner)
    big = _noise_png(200)  # about 120 KB
    assert len(big) > settings.MAX_UPLOAD_BYTES
    before = _snapshot_state()
    cases = {
        "image upload": (
            f"/api/projects/{project.pk}/images/",
            {"files": [SimpleUploadedFile("big.png", big)]},
        ),
        "inspect upload": (
            "/api/inspect/",
            {"project": project.pk, "images": [SimpleUploadedFile("big.png", big)]},
        ),
        "mask save": (
            f"/api/images/{image.pk}/labels/",
            {"kind": "mask", "mask": SimpleUploadedFile("m.png", big)},
        ),
    }
    for what, (url, data) in cases.items():
        _assert_too_large(client.post(url, data, format="multipart"), what)
    padded = {"epochs": 2, "note": "x" * (100 * 1024)}
    response = client.post(f"/api/projects/{project.pk}/jobs/", padded, format="json")
    _assert_too_large(response, "json body")
    assert _snapshot_state() == before
    assert list(small_limits.iterdir()) == []

    # The limit is the route's, not a refusal of every upload: a small image goes through.
    small = client.post(
        f"/api/projects/{project.pk}/images/",
        {"files": [SimpleUploadedFile("small.png", _noise_png(40))]},
        format="multipart",
    )
    assert small.status_code == 201, small.json()
    assert list(small_limits.iterdir()) == []  # its spilled part was removed with the request


@pytest.mark.django_db
def test_imports_take_the_larger_import_limit(project, owner, client_for, small_limits):
    client = client_for(owner)
    url = f"/api/projects/{project.pk}/imports/?wait=1"
    archive = zip_bytes({f"images/n{i}.png": _noise_png(64, i) for i in range(8)})  # ~100 KB
    assert settings.MAX_UPLOAD_BYTES < len(archive) < settings.MAX_IMPORT_BYTES
    too_big = zip_bytes({f"images/n{i}.png": _noise_png(64, i) for i in range(30)})
    assert len(too_big) > settings.MAX_IMPORT_BYTES
    before = _snapshot_state()
    refused = client.post(
        url, {"archive": SimpleUploadedFile("big.zip", too_big)}, format="multipart"
    )
    _assert_too_large(refused, "import", setting="MAX_IMPORT_MB")
    assert _snapshot_state() == before
    assert list(small_limits.iterdir()) == []

    accepted = client.post(
        url, {"archive": SimpleUploadedFile("ok.zip", archive)}, format="multipart"
    )
    assert accepted.status_code == 201, accepted.json()
    assert Image.objects.filter(project=project).count() == 8


@pytest.mark.django_db
def test_djangos_parse_time_limits_answer_in_the_api_error_shape(
    project, owner, client_for, settings
):
    """Form and JSON data above DATA_UPLOAD_MAX_MEMORY_SIZE (reachable where a route's body
    limit is higher), too many form fields, too many files: JSON 413/400, not an HTML 400."""
    client = client_for(owner)
    jobs = f"/api/projects/{project.pk}/jobs/"
    before = _snapshot_state()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    response = client.post(jobs, {"epochs": 2, "note": "x" * 8192}, format="json")
    _assert_refused(response, "json over DATA_UPLOAD_MAX_MEMORY_SIZE", kind="oversized bodies")
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
    fields = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = client.generic("POST", jobs, fields, "application/x-www-form-urlencoded")
    _assert_refused(response, "too many fields", kind="oversized bodies")
    assert response.json()["code"] == "too_many_fields", response.json()
    files = [
        SimpleUploadedFile(f"{i}.png", b"x")
        for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    ]
    response = client.post(
        f"/api/projects/{project.pk}/images/", {"files": files}, format="multipart"
    )
    _assert_refused(response, "too many files", kind="oversized bodies")
    assert response.json()["code"] == "too_many_files", response.json()
    assert _snapshot_state() == before


def test_a_chunked_body_is_cut_off_at_the_limit_by_the_asgi_application(settings):
    """A body sent without Content-Length is counted as it arrives: past the limit the
    application stops reading and answers 413; the chunks after it are never taken."""
    import asyncio

    from asgiref.testing import ApplicationCommunicator
    from django.core.asgi import get_asgi_application

    from defect_platform.core.request_limits import AsgiBodyLimit

    settings.MAX_UPLOAD_BYTES = 64 * 1024

    async def scenario():
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/projects/1/images/",
            "raw_path": b"/api/projects/1/images/",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"localhost"), (b"content-type", b"application/octet-stream")],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }
        communicator = ApplicationCommunicator(AsgiBodyLimit(get_asgi_application()), scope)
        chunk = b"x" * (16 * 1024)
        for _ in range(20):
            await communicator.send_input(
                {"type": "http.request", "body": chunk, "more_body": True}
            )
        start = await communicator.receive_output(timeout=10)
        body = await communicator.receive_output(timeout=10)
        left = communicator.input_queue.qsize()
        await communicator.wait(timeout=10)
        return start, body, left

    start, body, left = asyncio.run(scenario())
    TRIED["oversized bodies"] += 1
    assert start["status"] == 413
    answer = json.loads(body["body"])
    assert answer["code"] == "too_large" and "MAX_UPLOAD_MB" in answer["detail"], answer
    assert left >= 15, f"{20 - left} chunks of 16 KiB read for a 64 KiB limit"


@pytest.mark.integration
@pytest.mark.django_db
def test_the_asgi_server_refuses_a_chunked_upload_past_the_limit(project, tmp_path):
    """End to end through Daphne: a chunked upload past MAX_UPLOAD_MB is a JSON 413, a chunked
    upload under it reaches the view (401 here, unauthenticated), and the server stays up."""
    import requests

    from tests.processes import service_env, start_web

    env = service_env(settings.MEDIA_ROOT, redis=False, MAX_UPLOAD_MB="1")
    web, url = start_web(env, tmp_path)
    try:

        def chunks(total):
            piece = b"x" * 65536
            for _ in range(total // len(piece)):
                yield piece

        target = f"{url}/api/projects/{project.pk}/images/"
        headers = {"Content-Type": "application/octet-stream"}
        big = requests.post(target, data=chunks(3 * 2**20), headers=headers, timeout=60)
        TRIED["oversized bodies"] += 1
        assert big.status_code == 413, big.text[:300]
        assert big.json()["code"] == "too_large" and "1 MB" in big.json()["detail"]
        small = requests.post(target, data=chunks(256 * 1024), headers=headers, timeout=60)
        assert small.status_code == 401, small.text[:300]
        assert requests.get(f"{url}/healthz", timeout=10).status_code == 200
    finally:
        web.stop()


# --- Endpoints that take data: audit, station setup, webhooks, members, models --------------


@pytest.fixture
def line(project, other_project, owner, make_user):
    """A station over two projects the owner owns, an NG record with a stored view, a
    webhook, a model version (of `project`; `other_project` has none) and a supervisor."""
    from defect_platform.core.roles import Role

    Membership.objects.create(user=owner, project=other_project, role=Role.OWNER)
    supervisor = make_user("sup", Role.SUPERVISOR, project)
    station = Station.objects.create(name="Line 9", cameras=[{"name": "cam1", "kind": "synthetic"}])
    station.projects.add(project, other_project)
    record = InspectionRecord.objects.create(
        station=station,
        captured_at=timezone.now(),
        verdict="ng",
        result={"verdict": "ng", "defects": [], "models": [], "quality": {}},
        created_by=owner,
    )
    record.projects.add(project)
    RecordView.objects.create(
        record=record, camera="cam1", file=save_bytes(f"records/{record.pk}.jpg", _jpeg(7))
    )
    job = TrainingJob.objects.create(project=project, params={}, status="succeeded")
    model = ModelVersion.objects.create(
        project=project,
        job=job,
        number=1,
        threshold=0.5,
        min_area=1,
        input_height=64,
        input_width=64,
        weights="models/absent.pt",
    )
    webhook = Webhook.objects.create(project=project, url="http://10.0.0.5/hook", secret="s" * 32)
    return {
        "station": station,
        "record": record,
        "model": model,
        "webhook": webhook,
        "supervisor": supervisor,
        "member": Membership.objects.get(user=supervisor),
    }


HUGE = 10**30


def _send(client, method, url, body):
    """`body`: a dict or list sent as JSON, or a str sent as it is (JSON with NaN literals,
    truncated documents)."""
    data = body if isinstance(body, str) else json.dumps(body)
    return client.generic(method, url, data.encode(), "application/json")


def _run_corpus(client, cases, kind):
    before = _snapshot_state()
    for what, method, url, body, field in cases:
        _assert_refused(_send(client, method, url, body), what, field, kind)
    assert _snapshot_state() == before


def _not_json_objects(method, url):
    """Bodies that are JSON but not an object, or not JSON."""
    return [
        (f"{method} list body", method, url, [], None),
        (f"{method} string body", method, url, '"x"', None),
        (f"{method} null body", method, url, "null", None),
        (f"{method} truncated", method, url, '{"a": ', None),
        (f"{method} deep", method, url, "[" * 50_000 + "]" * 50_000, None),
    ]


@pytest.mark.django_db
def test_hostile_audit_decisions_are_refused(line, project, client_for):
    url = f"/api/records/{line['record'].pk}/decisions/"
    p = str(project.pk)
    cases = [
        ("NaN key", "POST", url, {"decisions": {"NaN": "present"}}, "decisions"),
        ("float key", "POST", url, {"decisions": {"1e3": "present"}}, "decisions"),
        ("huge key", "POST", url, {"decisions": {str(HUGE): "present"}}, "decisions"),
        ("negative key", "POST", url, {"decisions": {"-1": "present"}}, "decisions"),
        ("control key", "POST", url, {"decisions": {"\u0000": "present"}}, "decisions"),
        ("unknown value", "POST", url, {"decisions": {p: "maybe"}}, "decisions"),
        ("number value", "POST", url, {"decisions": {p: 1}}, "decisions"),
        ("null value", "POST", url, {"decisions": {p: None}}, "decisions"),
        ("list", "POST", url, {"decisions": ["present"]}, "decisions"),
        ("empty", "POST", url, {"decisions": {}}, "decisions"),
        ("string confirm", "POST", url, {"confirm": "perhaps"}, "confirm"),
        ("NaN blind", "POST", url, f'{{"decisions": {{"{p}": "absent"}}, "blind": NaN}}', None),
        ("nothing", "POST", url, {}, "decisions"),
        ("huge record", "POST", f"/api/records/{HUGE}/decisions/", {"confirm": True}, None),
        *_not_json_objects("POST", url),
    ]
    _run_corpus(client_for(line["supervisor"]), cases, "audit decisions")


@pytest.mark.django_db
def test_hostile_camera_lists_are_refused(line, owner, client_for):
    url = f"/api/stations/{line['station'].pk}/cameras/"

    def cams(*configs):
        return {"cameras": list(configs)}

    def cam(**config):
        return cams({"name": "a"} | config)

    nan_gain = '{"cameras": [{"name": "a", "settings": {"gain": NaN}}]}'
    cases = [
        ("no cameras", "PUT", url, cams(), "cameras"),
        ("seventeen", "PUT", url, cams(*({"name": f"c{i}"} for i in range(17))), "cameras"),
        ("string list", "PUT", url, {"cameras": "cam1"}, "cameras"),
        ("number camera", "PUT", url, cams(7), "cameras"),
        ("no name", "PUT", url, cams({"kind": "synthetic"}), "cameras"),
        ("long name", "PUT", url, cam(name="c" * 61), "cameras"),
        ("NUL in name", "PUT", url, cam(name="cam\u00001"), "cameras"),
        ("newline in name", "PUT", url, cam(name="cam\n1"), "cameras"),
        ("slash in name", "PUT", url, cam(name="../cam"), "cameras"),
        ("same names", "PUT", url, cams({"name": "a"}, {"name": "a"}), "cameras"),
        ("unknown kind", "PUT", url, cam(kind="laser"), "cameras"),
        ("video outside", "PUT", url, cam(kind="video", source="/etc/passwd"), "cameras"),
        ("video escape", "PUT", url, cam(kind="video", source="../../etc"), "cameras"),
        ("file stream", "PUT", url, cam(kind="stream", source="file:///etc/passwd"), "cameras"),
        ("no source", "PUT", url, cam(kind="stream"), "cameras"),
        ("device path", "PUT", url, cam(kind="opencv", source="/dev/video0"), "cameras"),
        ("unknown setting", "PUT", url, cam(settings={"laser": 1}), "cameras"),
        ("settings list", "PUT", url, cam(settings=["exposure"]), "cameras"),
        ("string exposure", "PUT", url, cam(settings={"exposure": "high"}), "cameras"),
        ("huge exposure", "PUT", url, cam(settings={"exposure": 1e300}), "cameras"),
        ("bool gain", "PUT", url, cam(settings={"gain": True}), "cameras"),
        ("negative width", "PUT", url, cam(settings={"width": -640}), "cameras"),
        ("long fourcc", "PUT", url, cam(settings={"fourcc": "MJPEG"}), "cameras"),
        ("number fourcc", "PUT", url, cam(settings={"fourcc": 1196444237}), "cameras"),
        ("NaN setting", "PUT", url, nan_gain, None),
        ("made-up reference", "PUT", url, cam(name="cam1", reference={"x": "y"}), "cameras"),
        ("made-up limits", "PUT", url, cam(name="cam1", limits={"x": -1}), "cameras"),
        ("rates string", "PUT", url, cam(defect_rates="all"), "cameras"),
        ("rates NaN", "PUT", url, cam(defect_rates={"crack": "NaN"}), "cameras"),
        *_not_json_objects("PUT", url),
    ]
    _run_corpus(client_for(owner), cases, "camera lists")


@pytest.mark.django_db
def test_hostile_station_thresholds_are_refused(line, project, owner, client_for):
    url = f"/api/stations/{line['station'].pk}/thresholds/"
    p = str(project.pk)

    def rule(**values):
        return {"thresholds": {p: values}}

    cases = [
        ("string NaN", "PATCH", url, rule(threshold="NaN"), p),
        ("literal NaN", "PATCH", url, f'{{"thresholds": {{"{p}": {{"threshold": NaN}}}}}}', None),
        ("Infinity", "PATCH", url, f'{{"thresholds": {{"{p}": {{"threshold": 1e999}}}}}}', None),
        ("negative", "PATCH", url, rule(threshold=-0.1), p),
        ("zero", "PATCH", url, rule(threshold=0), p),
        ("above one", "PATCH", url, rule(threshold=1.5), p),
        ("huge", "PATCH", url, rule(threshold=1e308), p),
        ("bool", "PATCH", url, rule(threshold=True), p),
        ("string number", "PATCH", url, rule(threshold="0.5"), p),
        ("negative area", "PATCH", url, rule(min_area=-1), p),
        ("huge area", "PATCH", url, rule(min_area=HUGE), p),
        ("fractional area", "PATCH", url, rule(min_area=1.5), p),
        ("string area", "PATCH", url, rule(min_area="40"), p),
        ("unknown key", "PATCH", url, rule(threshold=0.5, colour="red"), p),
        ("empty rule", "PATCH", url, rule(), p),
        ("list rule", "PATCH", url, {"thresholds": {p: [0.5]}}, p),
        ("NaN project", "PATCH", url, {"thresholds": {"NaN": {"threshold": 0.5}}}, "NaN"),
        ("huge project", "PATCH", url, {"thresholds": {str(HUGE): {"threshold": 0.5}}}, str(HUGE)),
        ("foreign project", "PATCH", url, {"thresholds": {"999999": {"threshold": 0.5}}}, "999999"),
        ("list", "PATCH", url, {"thresholds": [0.5]}, "thresholds"),
        ("string", "PATCH", url, {"thresholds": "0.5"}, "thresholds"),
        *_not_json_objects("PATCH", url),
    ]
    _run_corpus(client_for(owner), cases, "station thresholds")


@pytest.mark.django_db
def test_hostile_webhooks_are_refused(line, project, owner, client_for):
    url = f"/api/projects/{project.pk}/webhooks/"
    detail = f"/api/webhooks/{line['webhook'].pk}/"
    bad_urls = [
        "ftp://example.com/hook",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_SET",
        "http://",
        "not a url",
        "//example.com/hook",
        "http://exa mple.com/",
        "http://example.com/\r\nX-Injected: 1",
        "http://exa\u0000mple.com/",
        "http://[::1",
        "http://999.999.999.999/",
        "http://-bad-.example/",
        "http://example.com:99999/",
        "http://" + "a" * 600 + ".example/",
        "",
    ]

    def hook(**fields):
        return {"url": "http://10.0.0.9/hook"} | fields

    cases = [(f"url {u[:30]!r}", "POST", url, {"url": u}, "url") for u in bad_urls]
    cases += [(f"patch url {u[:30]!r}", "PATCH", detail, {"url": u}, "url") for u in bad_urls]
    cases += [
        ("number url", "POST", url, {"url": 7}, "url"),
        ("no url", "POST", url, {}, "url"),
        ("unknown event", "POST", url, hook(events=["nope"]), "events"),
        ("event string", "POST", url, hook(events="verdict.ng"), "events"),
        ("short secret", "POST", url, hook(secret="abc"), "secret"),
        ("long secret", "POST", url, hook(secret="s" * 200), "secret"),
        ("NUL secret", "POST", url, hook(secret="s" * 20 + "\u0000"), "secret"),
        ("string active", "PATCH", detail, {"active": "maybe"}, "active"),
        ("huge webhook", "PATCH", f"/api/webhooks/{HUGE}/", {"active": False}, None),
        *_not_json_objects("POST", url),
    ]
    _run_corpus(client_for(owner), cases, "webhooks")


@pytest.mark.django_db
def test_hostile_memberships_are_refused(line, project, owner, make_user, client_for):
    make_user("bystander")
    url = f"/api/projects/{project.pk}/members/"
    member = f"{url}{line['member'].pk}/"
    mine = f"{url}{Membership.objects.get(user=owner, project=project).pk}/"
    cases = [
        ("unknown user", "POST", url, {"username": "nobody", "role": "annotator"}, "username"),
        ("NUL user", "POST", url, {"username": "a\u0000b", "role": "annotator"}, "username"),
        ("long user", "POST", url, {"username": "u" * 10_000, "role": "annotator"}, "username"),
        ("list user", "POST", url, {"username": ["bystander"], "role": "annotator"}, "username"),
        ("null user", "POST", url, {"username": None, "role": "annotator"}, "username"),
        ("unknown role", "POST", url, {"username": "bystander", "role": "god"}, "role"),
        ("staff role", "POST", url, {"username": "bystander", "role": "staff"}, "role"),
        ("empty role", "POST", url, {"username": "bystander", "role": ""}, "role"),
        ("number role", "POST", url, {"username": "bystander", "role": 1}, "role"),
        ("again", "POST", url, {"username": "sup", "role": "annotator"}, "username"),
        ("patch role", "PATCH", member, {"role": "overlord"}, "role"),
        ("patch null role", "PATCH", member, {"role": None}, "role"),
        ("move to a member", "PATCH", member, {"username": "owner"}, "username"),
        ("move to a user", "PATCH", member, {"username": "bystander"}, "username"),
        ("last owner", "PATCH", mine, {"role": "annotator"}, "role"),
        ("huge id", "PATCH", f"{url}{HUGE}/", {"role": "annotator"}, None),
        *_not_json_objects("POST", url),
    ]
    _run_corpus(client_for(owner), cases, "memberships")


@pytest.mark.django_db
def test_hostile_send_to_labeling_is_refused(line, project, client_for):
    url = f"/api/projects/{project.pk}/audit/send-to-labeling/"
    cases = [
        ("empty", "POST", url, {"records": []}, "records"),
        ("string", "POST", url, {"records": "1"}, "records"),
        ("zero", "POST", url, {"records": [0]}, "records"),
        ("negative", "POST", url, {"records": [-1]}, "records"),
        ("huge", "POST", url, {"records": [HUGE]}, "records"),
        ("float", "POST", url, {"records": [1.5]}, "records"),
        ("NaN", "POST", url, {"records": ["NaN"]}, "records"),
        ("too many", "POST", url, {"records": list(range(1, 200))}, "records"),
        ("only unknown", "POST", url, {"records": [999_999]}, "records"),
        ("nested", "POST", url, {"records": [[line["record"].pk]]}, "records"),
        *_not_json_objects("POST", url),
    ]
    _run_corpus(client_for(line["supervisor"]), cases, "send to labeling")


@pytest.mark.django_db
def test_hostile_replays_fused_models_and_prelabels_are_refused(
    line, other_project, owner, client_for
):
    replays = f"/api/models/{line['model'].pk}/replays/"
    fused = f"/api/stations/{line['station'].pk}/fused-models/"
    select = f"{fused}select/"
    prelabels = f"/api/projects/{other_project.pk}/prelabels/"
    cases = [
        ("replay zero", "POST", replays, {"limit": 0}, "limit"),
        ("replay negative", "POST", replays, {"limit": -1}, "limit"),
        ("replay huge", "POST", replays, {"limit": HUGE}, "limit"),
        ("replay NaN", "POST", replays, {"limit": "NaN"}, "limit"),
        ("replay float", "POST", replays, {"limit": 1.5}, "limit"),
        ("replay null", "POST", replays, {"limit": None}, "limit"),
        ("replay huge model", "POST", f"/api/models/{HUGE}/replays/", {"limit": 5}, None),
        *_not_json_objects("POST", replays),
        ("fused zero epochs", "POST", fused, {"epochs": 0}, "epochs"),
        ("fused huge epochs", "POST", fused, {"epochs": HUGE}, "epochs"),
        ("fused NaN lr", "POST", fused, {"lr": "NaN"}, "lr"),
        ("fused negative lr", "POST", fused, {"lr": -1}, "lr"),
        ("fused Infinity", "POST", fused, '{"max_minutes": Infinity}', None),
        ("fused string minutes", "POST", fused, {"max_minutes": "Infinity"}, "max_minutes"),
        ("fused zero batch", "POST", fused, {"batch_size": 0}, "batch_size"),
        ("fused negative seed", "POST", fused, {"seed": -1}, "seed"),
        ("fused huge seed", "POST", fused, {"seed": HUGE}, "seed"),
        *_not_json_objects("POST", fused),
        ("select string", "POST", select, {"fused_model": "x"}, "fused_model"),
        ("select huge", "POST", select, {"fused_model": HUGE}, None),
        ("select negative", "POST", select, {"fused_model": -1}, None),
        ("select nothing", "POST", select, {}, "fused_model"),
        ("prelabels without a model", "POST", prelabels, {}, "project"),
        ("prelabels huge project", "POST", f"/api/projects/{HUGE}/prelabels/", {}, None),
    ]
    _run_corpus(client_for(owner), cases, "replays, fused models, pre-labels")
