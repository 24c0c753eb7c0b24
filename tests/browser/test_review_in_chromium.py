"""Review in Chromium: an annotator submits, a reviewer rejects with a comment, the annotator
sees the comment in the editor and in their queue, fixes and resubmits, the reviewer accepts."""

import os

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import make_image, png_bytes

pytestmark = pytest.mark.browser
SAVED = "document.getElementById('save-state').textContent === 'saved'"


def _new_image(page) -> int:
    pixels = make_image(31, (128, 192))
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

    reviewer = login("reviewer")
    reviewer.goto(f"/images/{image}/label/")
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
