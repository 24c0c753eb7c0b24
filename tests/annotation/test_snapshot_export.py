"""Exporting a training snapshot: exactly its images and label versions, split marked."""

import io
import json
import zipfile

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from PIL import Image as PILImage

from annotation.importing import import_zip
from annotation.models import Image
from annotation.services import add_image, save_label, training_labels
from tests.conftest import make_image, png_bytes
from training.services import freeze


def _mask(seed, shape=(48, 64)):
    mask = np.zeros(shape, np.uint8)
    mask[5 + seed : 20 + seed, 10:40] = 255
    return mask


@pytest.fixture
def snapshot(project, owner):
    """Six images (four masks, two negatives) frozen with half held out for validation."""
    for seed in range(4):
        image, _ = add_image(project, png_bytes(make_image(seed, (48, 64))), f"p{seed}.png", owner)
        save_label(image, owner, "mask", png_bytes(_mask(seed)), False, None)
    for seed in (8, 9):
        clean, _ = add_image(project, png_bytes(make_image(seed, (48, 64))), f"c{seed}.png", owner)
        save_label(clean, owner, "negative", None, False, None)
    return freeze(project, owner, training_labels(project), seed=0, val_fraction=0.5)


def _download(client, project, query):
    response = client.get(f"/api/projects/{project.pk}/export/?{query}")
    assert response.status_code == 200, response.content[:300]
    return response, b"".join(response.streaming_content)


@pytest.mark.django_db
def test_a_snapshot_export_reimports_as_the_snapshot_not_the_labels_edited_since(
    project, other_project, owner, client_for, snapshot
):
    frozen = {}
    for image in Image.objects.filter(project=project):
        version = image.labels.get().current_version
        frozen[image.sha256] = np.asarray(PILImage.open(version.mask.path)) if version.mask else 0
    # After the snapshot: a label is repainted, and a new labelled image arrives.
    first = Image.objects.get(source_name="p0.png")
    base = first.labels.get().current_version
    save_label(first, owner, "mask", png_bytes(_mask(20)), False, base.pk)
    late, _ = add_image(project, png_bytes(make_image(30, (48, 64))), "late.png", owner)
    save_label(late, owner, "mask", png_bytes(_mask(5)), False, None)

    response, data = _download(client_for(owner), project, f"format=masks&snapshot={snapshot.pk}")
    assert f"{project.slug}-snapshot{snapshot.pk}-masks.zip" in response["Content-Disposition"]
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    assert manifest["snapshot"]["id"] == snapshot.pk
    assert manifest["snapshot"]["digest"] == snapshot.digest
    by_sha = {item["sha256"]: item for item in manifest["items"]}
    images = {i.sha256: i.pk for i in Image.objects.filter(project=project)}
    expected_split = {
        sha: "validation" if images[sha] in snapshot.validation else "train" for sha in frozen
    }
    assert {sha: item["split"] for sha, item in by_sha.items()} == expected_split
    assert sorted(expected_split.values()) == ["train"] * 3 + ["validation"] * 3
    assert {item["label_version"] for item in manifest["items"]} == set(snapshot.items.values())

    report = import_zip(other_project, owner, data)
    assert report.errors == [] and report.images == 6
    back = {}
    for image in Image.objects.filter(project=other_project):
        version = image.labels.get().current_version
        back[image.sha256] = np.asarray(PILImage.open(version.mask.path)) if version.mask else 0
    assert back.keys() == frozen.keys()  # the late image is not in it
    for sha, mask in frozen.items():
        assert np.array_equal(back[sha], mask), sha  # p0 as frozen, not as repainted


@pytest.mark.django_db
def test_coco_and_via_snapshot_exports_mark_the_split(project, owner, client_for, snapshot):
    client = client_for(owner)
    _, data = _download(client, project, f"format=coco&snapshot={snapshot.pk}")
    coco = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("annotations/instances.json"))
    assert sorted(i["split"] for i in coco["images"]) == ["train"] * 3 + ["validation"] * 3
    assert coco["info"]["snapshot"]["id"] == snapshot.pk
    _, data = _download(client, project, f"format=via&snapshot={snapshot.pk}")
    via = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("via_project.json"))
    splits = [v["file_attributes"]["split"] for v in via["_via_img_metadata"].values()]
    assert sorted(splits) == ["train"] * 3 + ["validation"] * 3
    # Without a snapshot the export is of the current labels, with no split.
    _, data = _download(client, project, "format=coco")
    coco = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("annotations/instances.json"))
    assert all("split" not in i for i in coco["images"])


@pytest.mark.django_db
def test_another_projects_snapshot_is_not_found(
    project, other_project, owner, make_user, client_for, snapshot
):
    mine = freeze(
        other_project, owner, {}, seed=0, val_fraction=0.2
    )  # an (empty) snapshot of the other project
    both = make_user("both", "owner", project)
    from defect_platform.core.models import Membership

    Membership.objects.create(user=both, project=other_project, role="owner")
    client = client_for(both)
    for query in (f"snapshot={mine.pk}", "snapshot=999999", "snapshot=abc"):
        response = client.get(f"/api/projects/{project.pk}/export/?format=masks&{query}")
        assert response.status_code == 404, query
    # Through the other project the snapshot is found, but it is empty.
    response = client.get(f"/api/projects/{other_project.pk}/export/?snapshot={mine.pk}")
    assert response.status_code == 400


@pytest.mark.django_db
def test_the_export_command_writes_a_snapshot_and_refuses_another_projects(
    project, other_project, owner, snapshot, tmp_path
):
    out = tmp_path / "snap.zip"
    call_command("export_dataset", project.slug, str(out), "--snapshot", str(snapshot.pk))
    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert len(manifest["items"]) == 6 and manifest["snapshot"]["id"] == snapshot.pk
    assert sum(item["split"] == "validation" for item in manifest["items"]) == 3
    with pytest.raises(CommandError, match="no snapshot"):
        call_command("export_dataset", other_project.slug, str(out), "--snapshot", str(snapshot.pk))
