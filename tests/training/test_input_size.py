"""The input size suggested from a project's images."""

import numpy as np

from training.ml.input_size import suggest_input_size


def test_long_parts_keep_their_length():
    straws = [(512, 2496)] * 9 + [(500, 2400)]
    assert suggest_input_size(straws) == (256, 1248)


def test_small_tiles_are_not_upsampled_and_keep_their_shape():
    tiles = [(200, 230), (180, 260), (210, 210), (190, 240), (600, 100)]
    height, width = suggest_input_size(tiles)
    assert (height, width) == (192, 224)  # median short side 190, median aspect ~1.2
    assert height % 32 == 0 and width % 32 == 0


def test_portrait_images_give_a_portrait_size_and_huge_ones_are_capped():
    assert suggest_input_size([(1000, 400)] * 3) == (640, 256)
    height, width = suggest_input_size([(1000, 100000)])
    assert max(height, width) <= 2048 and height >= 32


def test_no_images_no_suggestion():
    assert suggest_input_size([]) is None
    assert suggest_input_size([(0, 10)]) is None


def test_the_project_api_and_new_job_form_offer_the_suggestion(labelled_project, client_for, owner):
    from django.test import Client

    data = client_for(owner).get(f"/api/projects/{labelled_project.pk}/").json()
    assert data["suggested_input_size"] == [64, 64]  # its 64x64 images, not upsampled
    client = Client()
    client.force_login(owner)
    page = client.get(f"/projects/{labelled_project.pk}/").content.decode()
    assert 'id="use-suggested" data-height="64" data-width="64"' in page


def _oblong_project(project, owner, count=4, shape=(96, 192)):
    """The fixture project with its size cleared and oblong images, half with a defect."""
    from annotation.services import add_image, save_label
    from tests.conftest import make_image, png_bytes

    project.input_height = project.input_width = None
    project.save()
    for i in range(count):
        image, _ = add_image(project, png_bytes(make_image(i, shape)), f"{i}.png", owner)
        mask = np.zeros(shape, np.uint8)
        mask[10:30, 20:60] = 255 * (i % 2)
        kind = "mask" if i % 2 else "negative"
        save_label(image, owner, kind, png_bytes(mask) if i % 2 else None, False, None)
    return project


def test_a_project_without_a_size_trains_at_the_size_its_images_suggest(project, owner, client_for):
    from django.test import Client

    _oblong_project(project, owner)
    api = client_for(owner)
    data = api.get(f"/api/projects/{project.pk}/").json()
    assert data["input_height"] is None and data["input_width"] is None
    assert data["suggested_input_size"] == data["input_size"] == [96, 192]
    job = api.post(f"/api/projects/{project.pk}/jobs/", {"epochs": 1}, format="json")
    assert job.status_code == 201, job.json()
    assert job.json()["params"]["input_size"] == [96, 192]
    browser = Client()
    browser.force_login(owner)
    page = browser.get(f"/projects/{project.pk}/").content.decode()
    assert 'name="input_height" type="number" min="32" max="4096" step="32" value="96"' in page
    assert "The project sets no size" in page

    # A size set on the project wins over the suggestion, for the next job.
    patched = api.patch(
        f"/api/projects/{project.pk}/", {"input_height": 128, "input_width": 128}, format="json"
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["input_size"] == [128, 128]
    job = api.post(f"/api/projects/{project.pk}/jobs/", {"epochs": 1}, format="json")
    assert job.json()["params"]["input_size"] == [128, 128]


def test_half_a_size_is_refused_and_no_images_fall_back_to_a_square(project, owner, client_for):
    from training.services import input_size_for

    api = client_for(owner)
    half = api.patch(f"/api/projects/{project.pk}/", {"input_width": None}, format="json")
    assert half.status_code == 400 and "input_height" in half.json()["errors"]
    project.refresh_from_db()
    assert (project.input_height, project.input_width) == (64, 64)
    cleared = api.patch(
        f"/api/projects/{project.pk}/", {"input_height": None, "input_width": None}, format="json"
    )
    assert cleared.status_code == 200, cleared.json()
    project.refresh_from_db()
    assert cleared.json()["input_size"] == input_size_for(project) == [256, 256]
