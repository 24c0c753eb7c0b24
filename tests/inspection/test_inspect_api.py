import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.models import InspectionRecord
from tests.conftest import make_image, png_bytes
from training import registry
from training.ml import runtime

VERDICT_KEYS = {
    "id",
    "station",
    "captured_at",
    "serial",
    "lot",
    "verdict",
    "defects",
    "models",
    "quality",
    "latency_ms",
}


def _inspect(client, project, *images, **fields):
    files = [
        SimpleUploadedFile(f"v{i}.png", png_bytes(img), "image/png") for i, img in enumerate(images)
    ]
    return client.post(
        "/api/inspect/", {"project": project.pk, "images": files, **fields}, format="multipart"
    )


def test_inspect_returns_the_verdict_json_of_the_contract(client_for, inspector, trained_model):
    project = trained_model.project
    defect = make_image(1)
    defect[20:36, 20:36] = 255
    response = _inspect(
        client_for(inspector), project, defect, make_image(2), serial="S1", lot="L7"
    )
    assert response.status_code == 200, response.json()
    verdict = response.json()
    assert set(verdict) >= VERDICT_KEYS
    assert verdict["verdict"] in ("ok", "ng")
    assert (verdict["serial"], verdict["lot"]) == ("S1", "L7")
    assert verdict["models"] == [
        {
            "project": project.pk,
            "model_version": trained_model.pk,
            "fused_model": None,  # one model per project here, no fused network
            "snapshot": trained_model.job.dataset_id,
            "runtime": registry.runtime_for(trained_model),
            "threshold": trained_model.threshold,
            "min_area": trained_model.min_area,
        }
    ]
    assert verdict["models"][0]["runtime"] in runtime.PREFERENCE
    assert set(verdict["quality"]) == {"view1", "view2"}
    assert set(verdict["quality"]["view1"]) == {"sharpness", "brightness", "clipped"}
    for defect_result in verdict["defects"]:
        for view in defect_result["views"]:
            x, y, w, h = view["bbox"]
            assert w > 0 and h > 0 and view["area_px"] >= trained_model.min_area
            mask = client_for(inspector).get(view["mask_url"])
            assert mask.status_code == 200
    record = InspectionRecord.objects.get(pk=verdict["id"])
    assert record.verdict == verdict["verdict"]


def test_a_clear_defect_and_a_blank_image_get_different_scores(
    client_for, inspector, trained_model
):
    defect = np.zeros((64, 64, 3), np.uint8)
    defect[20:36, 20:36] = 255
    blank = np.zeros((64, 64, 3), np.uint8)
    client = client_for(inspector)
    scores = []
    for image in (defect, blank):
        verdict = _inspect(client, trained_model.project, image).json()
        scores.append(max([d["score"] for d in verdict["defects"]], default=0.0))
    assert scores[0] >= scores[1]


def test_the_idempotency_key_returns_the_first_verdict(client_for, inspector, trained_model):
    client = client_for(inspector)
    first = _inspect(client, trained_model.project, make_image(3), idempotency_key="abc")
    second = _inspect(client, trained_model.project, make_image(4), idempotency_key="abc")
    assert first.json()["id"] == second.json()["id"]
    assert InspectionRecord.objects.count() == 1


def test_a_project_without_a_model_gets_a_clear_409(client_for, inspector, project):
    response = _inspect(client_for(inspector), project, make_image(1))
    assert response.status_code == 409
    assert "no trained model" in response.json()["detail"]


def test_outsiders_and_annotators_cannot_inspect(client_for, outsider, annotator, trained_model):
    assert _inspect(client_for(outsider), trained_model.project, make_image(1)).status_code == 404
    assert _inspect(client_for(annotator), trained_model.project, make_image(1)).status_code == 403


def test_bad_requests_name_the_problem(client_for, inspector, trained_model):
    client = client_for(inspector)
    no_images = client.post(
        "/api/inspect/", {"project": trained_model.project.pk}, format="multipart"
    )
    assert no_images.status_code == 400 and "images" in no_images.json()["errors"]
    garbage = client.post(
        "/api/inspect/",
        {
            "project": trained_model.project.pk,
            "images": [SimpleUploadedFile("x.png", b"garbage", "image/png")],
        },
        format="multipart",
    )
    assert garbage.status_code == 400 and "images" in garbage.json()["errors"]
    assert not InspectionRecord.objects.exists()


def test_a_view_that_drifts_from_its_golden_frame_makes_the_object_not_inspectable(
    client_for, owner, inspector, trained_model
):
    import cv2

    from inspection.models import Station

    project = trained_model.project
    station = Station.objects.create(name="Q", cameras=[{"name": "top", "kind": "synthetic"}])
    station.projects.set([project])
    golden = make_image(5)
    reference = client_for(owner).post(
        f"/api/stations/{station.pk}/cameras/top/reference/",
        {"image": SimpleUploadedFile("g.png", png_bytes(golden))},
        format="multipart",
    )
    assert reference.status_code == 200, reference.json()
    assert reference.json()["reference"]["sharpness"] > 0
    refused = client_for(inspector).post(
        f"/api/stations/{station.pk}/cameras/top/reference/",
        {"image": SimpleUploadedFile("g.png", png_bytes(golden))},
        format="multipart",
    )
    assert refused.status_code == 403

    def inspect(image):
        return (
            client_for(inspector)
            .post(
                "/api/inspect/",
                {
                    "station": station.pk,
                    "cameras": ["top"],
                    "images": [SimpleUploadedFile("v.png", png_bytes(image))],
                },
                format="multipart",
            )
            .json()
        )

    sharp = inspect(golden)
    assert sharp["quality_issues"] == {}
    blurred = inspect(cv2.GaussianBlur(golden, (15, 15), 5))
    assert "blurred" in blurred["quality_issues"]["top"][0]
    assert blurred["verdict"] in ("not_inspectable", "ng")
    if not blurred["defects"]:
        assert blurred["verdict"] == "not_inspectable"
    dark = inspect((golden // 4).astype(np.uint8))
    assert any("darker" in issue for issue in dark["quality_issues"]["top"])


def test_a_trigger_captures_every_camera_and_reports_an_offline_one(
    client_for, inspector, trained_model, request
):
    from inspection.models import Station

    project = trained_model.project
    station = Station.objects.create(
        name="Triggered",
        cameras=[
            {"name": "a", "kind": "synthetic"},
            {"name": "b", "kind": "synthetic"},
            {"name": "gone", "kind": "stream", "source": "http://127.0.0.1:9/x.mjpg"},
        ],
    )
    station.projects.set([project])
    from inspection import triggering

    client = client_for(inspector)
    url = f"/api/stations/{station.pk}/trigger/"
    request.addfinalizer(triggering.close_all)
    first = client.post(url, {"serial": "S-9", "idempotency_key": "k1"}, format="json")
    assert first.status_code == 200, first.json()
    verdict = first.json()
    assert set(verdict["quality"]) == {"a", "b"}  # the offline camera gave no view
    assert "camera offline" in verdict["quality_issues"]["gone"][0]
    assert verdict["verdict"] in ("ng", "not_inspectable")
    assert verdict["station"] == station.pk and verdict["serial"] == "S-9"
    again = client.post(url, {"idempotency_key": "k1"}, format="json").json()
    assert again["id"] == verdict["id"]
    assert InspectionRecord.objects.filter(station=station).count() == 1
