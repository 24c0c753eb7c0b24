"""The import page in Chromium: a zip uploaded with progress, imported by the platform's real
worker, and the report naming the bad file.

Imports into the demo's Spot project (as the editor tests upload there), so the Crack counts
other tests check stay as seeded.
"""

import io
import os
import zipfile

import numpy as np
import pytest

from tests.conftest import make_image, png_bytes

pytestmark = pytest.mark.browser


def _archive(path):
    mask = np.zeros((64, 96), np.uint8)
    mask[10:30, 20:60] = 255
    entries = {}
    for i in range(3):
        pixels = make_image(100 + i, (64, 96))
        pixels[0, 0] = list(os.urandom(3))  # new files each run, never duplicates
        entries[f"images/tile{i}.png"] = png_bytes(pixels)
        entries[f"masks/tile{i}.png"] = png_bytes(mask if i < 2 else np.zeros_like(mask))
    entries["images/broken.png"] = png_bytes(make_image(7, (64, 96)))[:200]  # truncated
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    path.write_bytes(buf.getvalue())
    return path


def test_a_zip_imports_with_progress_and_the_report_names_the_bad_file(page, tmp_path):
    page.goto("/projects/")
    page.get_by_role("link", name="Spot", exact=True).click()
    page.wait_for_selector("#project[data-ready]")
    page.click("#import-link")
    page.wait_for_selector("#import[data-ready]")

    page.set_input_files("#import-file", str(_archive(tmp_path / "tiles.zip")))
    page.check("input[name=masks][value=binary]")
    page.click("#import-start")
    # The real worker imports it; a training job of another test may hold it for a while.
    page.wait_for_selector("#import[data-finished]", state="attached", timeout=240_000)

    assert page.eval_on_selector("#import-upload", "bar => bar.value") == 100
    assert page.eval_on_selector("#import-processing", "bar => bar.value") == 1
    assert page.text_content("#import-processing-text") == "4 of 4 items"
    figures = {
        key: page.text_content(f"#report-{key}")
        for key in ("created", "duplicates", "labelled", "negatives", "error-count")
    }
    assert figures == {
        "created": "3",
        "duplicates": "0",
        "labelled": "2",
        "negatives": "1",
        "error-count": "1",
    }
    problems = page.locator("#report-errors li").all_text_contents()
    assert len(problems) == 1 and problems[0].startswith("images/broken.png: ")
    assert "truncated" in problems[0].lower() or "unreadable" in problems[0].lower()
    assert "finished" in page.text_content("#import-status")
    row = page.locator("#import-jobs tbody tr").first
    assert "succeeded" in row.text_content() and "4 / 4" in row.text_content()

    # Reloaded, the page lists the import; its report opens again from there.
    page.reload()
    page.wait_for_selector("#import[data-ready]")
    page.locator("#import-jobs .show-import").first.click()
    page.wait_for_selector("#import[data-finished]", state="attached")
    assert page.locator("#report-errors li").count() == 1
