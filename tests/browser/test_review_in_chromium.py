"""Review in Chromium: an annotator submits, a reviewer sees the annotator's pixels as a layer
over the image and rejects with a comment, the annotator sees the comment in the editor and in
their queue, fixes and resubmits, the reviewer accepts. Agreement: the reviewer's consensus
and disagreement layers, and the agreement page's heat map over the photo."""

import io
import os

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import make_image, png_bytes

pytestmark = pytest.mark.browser
SAVED = "document.getElementById('save-state').textContent === 'saved'"


def _new_image(page, pixels=None) -> int:
    pixels = make_image(31, (128, 192)) if pixels is None else pixels
    pixels[0, 0] = list(os.urandom(3))  # never a duplicate of an earlier run's image
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    projects = page.request.get("/api/projects/").json()["results"]
    project = next(p["id"] for p in projects if p["name"] == "Crack")
    answer = page.request.post(
        f"/api/projects/{project}/images/",
        multipart={
            "files": {"name": "r.png", "mimeType": "image/png", "buffer": png_bytes(pixels)}
        },
        headers={"X-CSRFToken": csrf},
    )
    assert answer.status == 201, answer.text()
    return answer.json()["created"][0]["id"]


def _paint(page):
    box = page.locator("#mask").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5, steps=8)
    page.mouse.up()
    # Painting lands on animation frames: wait for the edit, then for its autosave.
    page.wait_for_function("document.getElementById('save-state').textContent !== 'saved'")
    page.wait_for_function(SAVED, timeout=15_000)


def _layer_rgba(page, x: int, y: int, layer: str = "reference") -> list[int]:
    """An editor layer (#reference: the reviewer's; #mask: your own) at image pixel (x, y), as
    its canvas holds it."""
    return page.evaluate(
        """async ([x, y, layer]) => {
          await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
          const tiles = document.querySelectorAll(`#${layer} canvas`);
          const tile = [...tiles].find((c) => {
            const [dx, dy] = [x - c.dataset.x, y - c.dataset.y];
            return dx >= 0 && dy >= 0 && dx < c.width && dy < c.height;
          });
          const [dx, dy] = [x - tile.dataset.x, y - tile.dataset.y];
          return [...tile.getContext('2d').getImageData(dx, dy, 1, 1).data];
        }""",
        [x, y, layer],
    )


def _wait_for_state(page, image: int, state: str) -> None:
    """The panel shows `state`; if not, fail with what the server holds, which tells a
    refused request from a panel that did not redraw."""
    try:
        page.wait_for_selector(f".review-row .review-state:text('{state}')", timeout=30_000)
    except PlaywrightTimeout:
        labels = page.request.get(f"/api/images/{image}/labels/").json()
        held = [(label["annotator"], label["state"]) for label in labels]
        pytest.fail(f"the panel never showed {state!r}; the server holds {held}")


def test_reject_with_a_comment_then_accept_the_fix(login):
    admin = login("admin")
    image = _new_image(admin)
    annotator = login("annotator")
    annotator.goto(f"/images/{image}/label/")
    annotator.wait_for_selector("#editor[data-ready]")
    _paint(annotator)
    annotator.wait_for_selector("#submit-review")
    annotator.click("#submit-review")
    annotator.wait_for_selector(".review-mine .review-state:text('submitted')")
    # Annotators label on their own: no layer of other people's labels on their page.
    assert annotator.locator("#reference-pick").count() == 0

    # "Review next" opens /images/{id}/label/?review={label id}: the label under review is
    # drawn over the image as a read-only layer in its own colour.
    labels = annotator.request.get(f"/api/images/{image}/labels/").json()
    label = next(lb["id"] for lb in labels if lb["annotator"] == "annotator")
    reviewer = login("reviewer")
    reviewer.goto(f"/images/{image}/label/?review={label}")
    reviewer.wait_for_selector(f"#reference[data-layer='label:{label}']")
    assert reviewer.input_value("#reference-pick") == f"label:{label}"
    red, green, blue, alpha = _layer_rgba(reviewer, 86, 57)  # on the annotator's stroke
    assert alpha == 255 and blue > red
    assert _layer_rgba(reviewer, 20, 110)[3] == 0  # where nobody painted
    assert _layer_rgba(reviewer, 86, 57, "mask")[3] == 0  # the reviewer's own label stays apart
    reviewer.keyboard.press("r")
    assert not reviewer.locator("#reference").is_visible()
    assert reviewer.text_content("#toggle-reference") == "Show layer"
    reviewer.keyboard.press("r")
    assert reviewer.locator("#reference").is_visible()
    reviewer.keyboard.press("?")
    assert "another annotator's label" in reviewer.inner_text("#help")
    reviewer.keyboard.press("Escape")

    row = reviewer.locator(".review-row", has_text="annotator")
    row.wait_for()
    row.locator("textarea").fill("The scratch goes on to the right edge.")
    row.get_by_role("button", name="Reject").click()
    _wait_for_state(reviewer, image, "rejected")

    annotator.goto(f"/images/{image}/label/")
    annotator.wait_for_selector(".review-comment")
    assert "right edge" in annotator.text_content(".review-comment")
    assert "reviewer" in annotator.text_content(".review-comment")
    # The project page's "Label next" sends the annotator back to the rejected image first.
    annotator.goto("/projects/")
    annotator.click("text=Crack")
    annotator.wait_for_function(
        "document.getElementById('queue-summary').textContent.includes('sent back to you')"
    )
    annotator.click("#label-next")
    annotator.wait_for_url(f"**/images/{image}/label/")
    annotator.wait_for_selector("#editor[data-ready]")
    _paint(annotator)
    annotator.wait_for_selector("#submit-review")
    annotator.click("#submit-review")
    annotator.wait_for_selector(".review-mine .review-state:text('submitted')")

    reviewer.goto(f"/images/{image}/label/")
    row = reviewer.locator(".review-row", has_text="annotator")
    row.get_by_role("button", name="Accept").click()
    _wait_for_state(reviewer, image, "accepted")
    labels = reviewer.request.get(f"/api/images/{image}/labels/").json()
    mine = next(label for label in labels if label["annotator"] == "annotator")
    assert mine["state"] == "accepted"
    assert mine["accepted_version"] == mine["current_version"]["id"]
    assert mine["current_version"]["number"] == 2


def _save_mask(page, image: int, left: int) -> None:
    import numpy as np

    mask = np.zeros((128, 192), np.uint8)
    mask[30:80, left : left + 60] = 255
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    answer = page.request.post(
        f"/api/images/{image}/labels/",
        multipart={
            "kind": "mask",
            "mask": {"name": "m.png", "mimeType": "image/png", "buffer": png_bytes(mask)},
        },
        headers={"X-CSRFToken": csrf},
    )
    assert answer.status == 201, answer.text()


def test_the_agreement_page_ranks_images_and_annotators(login):
    admin = login("admin")
    image = _new_image(admin)
    _save_mask(admin, image, 20)
    _save_mask(login("engineer"), image, 50)  # overlaps half: IoU 30/90 = 1/3
    admin.goto("/projects/")
    admin.click("text=Crack")
    admin.click("text=Annotator agreement")
    admin.wait_for_selector("#agreement[data-ready]")
    assert int(admin.text_content("#ag-images")) >= 1
    link = admin.locator(f"#ag-images-list a[href='/images/{image}/label/']")
    assert "0.333" in link.text_content()
    people = admin.text_content("#ag-annotators")
    assert "admin" in people and "engineer" in people
    assert admin.locator("#ag-histogram rect").count() == 10

    # The owner reviews: the consensus layer is the mean of the two masks (128 where one of
    # two painted), the disagreement layer is hot exactly there.
    admin.goto(f"/images/{image}/label/")
    admin.wait_for_selector("#editor[data-ready]")
    admin.select_option("#reference-pick", "consensus")
    admin.wait_for_selector("#reference[data-layer='consensus']")
    assert [_layer_rgba(admin, x, 55)[3] for x in (35, 65, 95, 150)] == [128, 255, 128, 0]
    admin.select_option("#reference-pick", "disagreement")
    admin.wait_for_selector("#reference[data-layer='disagreement']")
    assert [_layer_rgba(admin, x, 55)[3] for x in (35, 65, 95, 150)] == [255, 0, 255, 0]
    row = admin.locator(".review-row", has_text="engineer")
    row.get_by_role("button", name="Show").click()
    admin.wait_for_selector("#reference[data-layer^='label:']")
    assert [_layer_rgba(admin, x, 55)[3] for x in (35, 65, 95, 150)] == [0, 255, 255, 0]


PHOTO = (40, 90, 200)  # one colour, so the thumbnail shows it wherever the heat is clear


def _thumbnail_at(page, figure, points, opacity: float) -> list[np.ndarray]:
    """The composed thumbnail's colour at image points, at heat map `opacity`: a screenshot of
    what Chromium drew, mapped through the thumbnail's object-fit: cover."""
    page.eval_on_selector(
        "#ag-heat-opacity",
        f"el => {{ el.value = '{opacity}'; el.dispatchEvent(new Event('input')); }}",
    )
    box = figure.bounding_box()
    shot = np.asarray(Image.open(io.BytesIO(figure.screenshot())).convert("RGB"), np.float64)
    height, width = 128, 192
    scale = max(box["width"] / width, box["height"] / height)
    left = (box["width"] - width * scale) / 2
    top = (box["height"] - height * scale) / 2
    colours = []
    for x, y in points:
        sx = round((left + x * scale) * shot.shape[1] / box["width"])
        sy = round((top + y * scale) * shot.shape[0] / box["height"])
        assert 2 <= sx < shot.shape[1] - 2 and 2 <= sy < shot.shape[0] - 2, (x, y, box)
        colours.append(shot[sy - 1 : sy + 2, sx - 1 : sx + 2].mean(axis=(0, 1)))
    return colours


def test_the_agreement_page_draws_the_heat_map_over_the_photo(login):
    admin = login("admin")
    image = _new_image(admin, np.full((128, 192, 3), PHOTO, np.uint8))
    _save_mask(admin, image, 20)  # columns 20-80, rows 30-80
    _save_mask(login("engineer"), image, 50)  # columns 50-110: 20-50 and 80-110 split evenly
    admin.goto("/projects/")
    admin.click("text=Crack")
    admin.click("text=Annotator agreement")
    admin.wait_for_selector("#agreement[data-ready]")
    link = admin.locator(f"#ag-images-list a[href='/images/{image}/label/']")
    link.scroll_into_view_if_needed()
    figure = link.locator(".heat-over")
    figure.locator("canvas[data-drawn]").wait_for()
    admin.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=figure.locator("img").element_handle()
    )
    split, calm = (35, 64), (150, 64)
    photo = np.array(PHOTO, np.float64)
    red = np.array((255, 0, 0), np.float64)

    for colour in _thumbnail_at(admin, figure, [split, calm], 0):
        assert np.abs(colour - photo).max() <= 8, colour  # the photo alone
    heat, clear = _thumbnail_at(admin, figure, [split, calm], 1)
    assert np.abs(heat - red).max() <= 8, heat  # an even split: full red, opaque
    assert np.abs(clear - photo).max() <= 8, clear  # agreement leaves the photo as it is
    heat, clear = _thumbnail_at(admin, figure, [split, calm], 0.5)
    assert np.abs(heat - (red + photo) / 2).max() <= 12, heat  # the photo through the heat
    assert np.abs(clear - photo).max() <= 8, clear
    assert admin.text_content("#ag-heat-opacity-out") == "0.50"
