"""The mask editor driven in Chromium: soft values, undo, zoom, polygon and bucket fills, help.

Each test labels an image of its own, uploaded to the demo's Spot project, so the stored mask
it reads back holds only what the test painted.
"""

import io
import os
import re

import numpy as np
import pytest
from PIL import Image

from tests.conftest import make_image, png_bytes

pytestmark = pytest.mark.browser
SIZE = (256, 384)  # height, width: large enough on screen for pixel-exact checks
SAVED = "document.getElementById('save-state').textContent === 'saved'"


def _csrf(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")


def _open_new_image(page, seed: int) -> int:
    pixels = make_image(seed, SIZE)
    pixels[0, 0] = list(os.urandom(3))  # a new file each run, never a duplicate of an old one
    projects = page.request.get("/api/projects/").json()["results"]
    project = next(p["id"] for p in projects if p["name"] == "Spot")
    answer = page.request.post(
        f"/api/projects/{project}/images/",
        multipart={
            "files": {
                "name": f"editor-{seed}.png",
                "mimeType": "image/png",
                "buffer": png_bytes(pixels),
            }
        },
        headers={"X-CSRFToken": _csrf(page)},
    )
    assert answer.status == 201, answer.text()
    image = answer.json()["created"][0]["id"]
    page.goto(f"/images/{image}/label/")
    page.wait_for_selector("#editor[data-ready]")
    return image


def _screen(page, x: float, y: float) -> tuple[float, float]:
    """The client position of image point (x, y) at the editor's current zoom."""
    box = page.locator("#mask").bounding_box()
    return box["x"] + x * box["width"] / SIZE[1], box["y"] + y * box["height"] / SIZE[0]


def _image_point(page, sx: float, sy: float) -> tuple[float, float]:
    box = page.locator("#mask").bounding_box()
    return (sx - box["x"]) * SIZE[1] / box["width"], (sy - box["y"]) * SIZE[0] / box["height"]


def _stroke(page, *points: tuple[float, float]) -> None:
    """Drags through image points, in screen steps small enough for several events a segment."""
    page.mouse.move(*_screen(page, *points[0]))
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*_screen(page, *point), steps=8)
    page.mouse.up()


def _stored(page, image: int) -> tuple[dict, np.ndarray | None]:
    """The admin's current version of the image's label, and its mask as an HxW array."""
    page.wait_for_function(SAVED, timeout=15_000)
    return _stored_for(page, image)


def _stored_for(page, image: int) -> tuple[dict, np.ndarray | None]:
    labels = page.request.get(f"/api/images/{image}/labels/").json()
    version = next(label for label in labels if label["annotator"] == "admin")["current_version"]
    if not version["mask_url"]:
        return version, None
    png = page.request.get(version["mask_url"]).body()
    return version, np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def _overlay_rgba(page, x: int, y: int) -> list[int]:
    return page.evaluate(
        """async ([x, y]) => {
          // Edits are drawn on the next animation frame: read after it has run.
          await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
          const tile = [...document.querySelectorAll('#mask canvas')].find((c) => {
            const [dx, dy] = [x - c.dataset.x, y - c.dataset.y];
            return dx >= 0 && dy >= 0 && dx < c.width && dy < c.height;
          });
          const [dx, dy] = [x - tile.dataset.x, y - tile.dataset.y];
          return [...tile.getContext('2d').getImageData(dx, dy, 1, 1).data];
        }""",
        [x, y],
    )


def _overlay_alpha(page, x: int, y: int) -> int:
    return _overlay_rgba(page, x, y)[3]


def test_a_soft_brush_sets_its_value_where_passes_overlap_and_survives_a_reload(page):
    image = _open_new_image(page, 501)
    page.keyboard.press("5")
    assert page.text_content("#brush-value-out") == "0.50"
    _stroke(page, (60, 100), (300, 100))
    _stroke(page, (60, 104), (300, 104))  # the brush is 12 px wide: the passes overlap
    assert page.text_content("#save-state") == "unsaved"
    page.wait_for_function(SAVED, timeout=15_000)
    page.reload()
    page.wait_for_selector("#editor[data-ready]")
    assert _overlay_alpha(page, 150, 102) == 128  # the reloaded buffer holds the stored value

    version, mask = _stored(page, image)
    assert version["kind"] == "mask" and version["is_soft"] is True
    assert set(np.unique(mask)) == {0, 128}
    assert (mask[96:109, 70:290] == 128).all()  # both passes and their overlap
    assert not mask[130:].any() and not mask[:, 320:].any() and not mask[:85].any()


def test_undo_and_redo_restore_the_label_and_autosave_each_state(page):
    image = _open_new_image(page, 502)
    _stroke(page, (40, 60), (200, 60))
    painted, _ = _stored(page, image)
    assert painted["positive_pixels"] > 1500

    page.keyboard.press("Control+z")
    assert _overlay_alpha(page, 120, 60) == 0
    assert page.text_content("#save-state") == "unsaved"
    undone, mask = _stored(page, image)
    assert undone["id"] != painted["id"] and undone["positive_pixels"] == 0 and not mask.any()

    page.keyboard.press("Control+Shift+z")
    assert _overlay_alpha(page, 120, 60) == 255
    redone, _ = _stored(page, image)
    assert redone["positive_pixels"] == painted["positive_pixels"]

    page.keyboard.press("Control+z")
    page.keyboard.press("Control+y")
    again, _ = _stored(page, image)
    assert again["positive_pixels"] == painted["positive_pixels"]


def test_the_wheel_zooms_towards_the_pointer_and_painting_lands_where_it_is_drawn(page):
    image = _open_new_image(page, 503)
    before = page.locator("#mask").bounding_box()
    pointer = _screen(page, 120, 90)
    page.mouse.move(*pointer)
    page.mouse.wheel(0, -300)
    page.wait_for_function(
        f"document.getElementById('mask').getBoundingClientRect().width > {before['width'] * 1.2}"
    )
    x, y = _image_point(page, *pointer)
    assert abs(x - 120) < 1 and abs(y - 90) < 1  # the point under the pointer stayed put

    _stroke(page, (120, 90), (160, 90))
    _, mask = _stored(page, image)
    rows, cols = np.nonzero(mask)
    radius = 6  # the default brush is 12 image pixels wide
    assert abs(cols.min() - (120 - radius)) <= 1 and abs(cols.max() - (160 + radius)) <= 1
    assert abs(rows.min() - (90 - radius)) <= 1 and abs(rows.max() - (90 + radius)) <= 1


def test_a_polygon_and_a_bucket_fill_inside_a_brush_loop_fill_their_insides(page):
    image = _open_new_image(page, 504)
    page.keyboard.press("p")
    corners = [(40, 40), (180, 40), (180, 140), (40, 140)]
    for corner in [*corners, corners[0]]:  # a click on the first corner closes it
        page.mouse.click(*_screen(page, *corner))
    polygon, mask = _stored(page, image)
    assert abs(polygon["positive_pixels"] - 140 * 100) <= 140 * 100 * 0.02
    assert (mask[40:140, 40:180] == 255).all()

    page.keyboard.press("b")
    _stroke(page, (230, 60), (330, 60), (330, 180), (230, 180), (230, 60))
    page.keyboard.press("g")
    page.mouse.click(*_screen(page, 280, 120))
    _, mask = _stored(page, image)
    assert (mask[60:180, 230:330] == 255).all()  # loop and inside
    assert not mask[200:, 200:].any() and not mask[:, 345:].any()  # nothing leaked out
    loop = int((mask[:, 200:] == 255).sum())
    assert 100 * 120 <= loop <= 112 * 132


def test_the_help_overlay_lists_the_shortcuts(page):
    _open_new_image(page, 505)
    assert not page.is_visible("#help")
    page.keyboard.press("?")
    assert page.is_visible("#help")
    text = page.inner_text("#help")
    for words in ("Brush", "Eraser", "Polygon", "Lasso", "Bucket fill", "Undo", "Redo", "Zoom"):
        assert words in text, words
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")


DRAFT_STORED = """async (key) => {
  const db = await new Promise((done, fail) => {
    const request = indexedDB.open('defect-label-drafts', 1);
    request.onupgradeneeded = () => request.result.createObjectStore('drafts');
    request.onsuccess = () => done(request.result);
    request.onerror = () => fail(request.error);
  });
  const draft = await new Promise((done) => {
    const request = db.transaction('drafts').objectStore('drafts').get(key);
    request.onsuccess = () => done(request.result);
  });
  db.close();
  return Boolean(draft);
}"""


def test_edits_that_never_reached_the_server_come_back_in_the_next_tab(page):
    image = _open_new_image(page, 506)
    # This tab cannot reach the label API (a cut network): autosave keeps failing, and the
    # edits exist only in the browser.
    labels_api = re.compile(rf".*/api/images/{image}/labels/$")
    page.route(
        labels_api,
        lambda route: route.abort() if route.request.method == "POST" else route.fallback(),
    )
    _stroke(page, (60, 100), (300, 100))
    key = f"admin:{image}"
    page.wait_for_function(DRAFT_STORED, arg=key, timeout=10_000)
    labels = page.request.get(f"/api/images/{image}/labels/").json()
    assert all(label["annotator"] != "admin" for label in labels), "nothing reached the server"

    # The same image opened again in this browser (after a crash, say): the edits come back
    # as unsaved edits and autosave stores them.
    again = page.context.new_page()
    again.goto(f"/images/{image}/label/")
    again.wait_for_selector("#editor[data-ready]")
    assert again.get_attribute("#editor", "data-restored"), "the draft was not restored"
    assert "Restored edits" in again.inner_text("#toasts")
    version, mask = _stored(again, image)
    assert version["kind"] == "mask"
    assert (mask[96:105, 70:290] == 255).all() and not mask[130:].any()
    # Saved, the draft is gone: the next visit opens the stored label without a restore.
    draft_gone = f"async (key) => !(await ({DRAFT_STORED})(key))"
    again.wait_for_function(draft_gone, arg=key, timeout=10_000)
    page.close()  # its exit save names no version, so it cannot replace the stored one
    again.reload()
    again.wait_for_selector("#editor[data-ready]")
    assert again.get_attribute("#editor", "data-restored") is None
    assert _stored(again, image)[0]["id"] == version["id"]
    again.close()


def test_sixty_undo_steps_overlay_controls_whole_image_marks_and_the_next_image(page):
    image = _open_new_image(page, 507)
    assert "Labeling guide" in page.inner_text(".guide")
    # 60 separate dots, 60 undo steps: all of them undo, in order.
    for i in range(60):
        page.mouse.click(*_screen(page, 20 + (i % 20) * 17, 30 + (i // 20) * 40))
    _, mask = _stored(page, image)
    assert mask[30, 20] == 255 and mask[110, 20 + 19 * 17] == 255
    for _ in range(55):
        page.keyboard.press("Control+z")
    _, mask = _stored(page, image)
    assert mask[30, 20 + 4 * 17] == 255 and not mask[30, 20 + 5 * 17]  # five dots left
    assert not mask[70:].any()
    for _ in range(5):
        page.keyboard.press("Control+z")
    _, mask = _stored(page, image)
    assert not mask.any()
    page.keyboard.press("Control+Shift+z")
    _, mask = _stored(page, image)
    assert mask[30, 20] == 255 and not mask[30, 37]

    # Colour and opacity change the overlay only; "h" hides and shows it.
    page.locator("#overlay-color").fill("#00ff00")
    red, green, blue, alpha = _overlay_rgba(page, 20, 30)
    assert green > 200 and red < 50 and blue < 50 and alpha == 255
    page.eval_on_selector(
        "#overlay-opacity",
        "el => { el.value = '0.3'; el.dispatchEvent(new Event('input', { bubbles: true })); }",
    )
    assert page.evaluate("getComputedStyle(document.getElementById('mask')).opacity") == "0.3"
    page.keyboard.press("h")
    assert not page.locator("#mask").is_visible()
    assert page.text_content("#toggle-label") == "Show"
    page.keyboard.press("h")
    assert page.locator("#mask").is_visible()

    # Whole-image marks replace the mask, each a new version.
    page.click("#mark-unsure")
    version, mask = _stored(page, image)
    assert version["kind"] == "unsure" and mask is None
    page.click("#mark-negative")
    version, mask = _stored(page, image)
    assert version["kind"] == "negative" and mask is None
    assert page.text_content("#label-kind") == "no defect"

    # Previous image (this upload is the project's newest): saves first, then moves on.
    _stroke(page, (40, 60), (120, 60))
    page.click("#previous-image")
    page.wait_for_url(lambda url: f"/images/{image}/" not in url and "/label/" in url)
    page.wait_for_selector("#editor[data-ready]")
    version, mask = _stored_for(page, image)
    assert version["kind"] == "mask" and mask[60, 80] == 255
    page.click("#next-image")
    page.wait_for_url(f"**/images/{image}/label/")


def _version_mask(page, version: dict) -> np.ndarray:
    png = page.request.get(version["mask_url"]).body()
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def test_two_tabs_painting_one_label_merge_after_a_conflict_and_keep_every_version(page):
    image = _open_new_image(page, 508)
    square = np.zeros(SIZE, np.uint8)
    square[100:140, 170:210] = 255
    first = page.request.post(
        f"/api/images/{image}/labels/",
        multipart={
            "kind": "mask",
            "mask": {"name": "m.png", "mimeType": "image/png", "buffer": png_bytes(square)},
        },
        headers={"X-CSRFToken": _csrf(page)},
    )
    assert first.status == 201, first.text()
    v1 = first.json()
    page.reload()
    page.wait_for_selector("#editor[data-ready]")
    other = page.context.new_page()
    other.goto(f"/images/{image}/label/")
    other.wait_for_selector("#editor[data-ready]")

    # Both tabs edit v1. The first one's stroke is saved as v2; the second tab's save still
    # names v1, so the server answers 409 and the editor offers to merge.
    _stroke(page, (60, 60), (120, 60))
    v2, _ = _stored(page, image)
    assert v2["parent"] == v1["id"]
    _stroke(other, (250, 200), (330, 200))
    other.wait_for_selector("#conflict", state="visible", timeout=15_000)
    assert "v2 by admin" in other.text_content("#conflict-text")
    assert other.text_content("#save-state") == "unsaved"

    other.click("#conflict-merge")
    other.wait_for_selector("#conflict", state="hidden")
    merged, mask = _stored(other, image)
    assert merged["parent"] == v2["id"] and merged["number"] == 3
    assert (mask[100:140, 170:210] == 255).all()  # v1's square
    assert (mask[57:64, 65:115] == 255).all()  # the first tab's stroke
    assert (mask[197:204, 255:325] == 255).all()  # the second tab's stroke
    assert not mask[:40].any() and not mask[230:].any()

    # Every version stays: v1 as uploaded, v2 with only the first tab's stroke.
    for version, strokes in ((v1, ()), (v2, ((60, 90),))):
        stored = page.request.get(f"/api/label-versions/{version['id']}/").json()
        held = _version_mask(page, stored)
        assert (held[100:140, 170:210] == 255).all()
        assert [int(held[y, x]) for y, x in strokes] == [255] * len(strokes)
        assert not held[190:210].any() and (version is v2 or not held[:80].any())

    # The merge is one undo step: undone, the tab holds what it painted itself.
    other.keyboard.press("Control+z")
    assert _overlay_alpha(other, 90, 60) == 0 and _overlay_alpha(other, 290, 200) == 255
    undone, mask = _stored(other, image)
    assert undone["parent"] == merged["id"] and mask[60, 90] == 0 and mask[200, 290] == 255
    other.close()
