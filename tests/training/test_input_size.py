"""The input size suggested from a project's images."""

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
