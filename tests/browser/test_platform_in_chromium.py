"""The platform started by the README's first command, driven in Debian's Chromium."""

import io
import json
import time
import zipfile

import pytest
import requests

pytestmark = pytest.mark.browser


def test_the_demo_answers_health_checks(platform):
    assert requests.get(f"{platform}/healthz", timeout=5).json() == {"status": "ok"}
    ready = requests.get(f"{platform}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text


def _open_project(page, name="Crack"):
    page.goto("/projects/")
    page.get_by_role("link", name=name, exact=True).click()
    page.wait_for_selector("#project[data-ready]")  # the page's script is wired up


def test_login_shows_the_demo_projects(page):
    rows = page.locator("table.table tbody tr")
    assert rows.count() == 2
    _open_project(page)
    assert page.locator(".thumbs li").count() == 24


def test_the_live_page_receives_frames_from_every_camera(page):
    page.goto("/live/")
    page.get_by_role("link", name="Line 1").click()
    page.wait_for_function(
        "Number(document.getElementById('frame-count').textContent) >= 12", timeout=30_000
    )
    seqs = page.eval_on_selector_all(".camera img", "imgs => imgs.map(i => i.dataset.seq)")
    assert len(seqs) == 3 and all(seqs)
    assert float(page.text_content("#fps")) > 0


def test_training_started_in_the_browser_finishes_with_live_progress(page):
    _open_project(page)
    page.fill("#train-form input[name=epochs]", "1")
    # Another test may have trained Crack already: follow this job's own row, not the first.
    with page.expect_response(
        lambda r: r.url.endswith("/jobs/") and r.request.method == "POST"
    ) as started:
        page.click("#train-form button[type=submit]")
    job = started.value.json()["id"]
    row = page.locator(f"#jobs tbody tr[data-job='{job}']")
    row.locator(".job-status .badge").filter(has_text="succeeded").wait_for(timeout=240_000)
    page.reload()
    assert page.locator("text=v1").count() >= 1
    page.locator(f"#jobs tbody tr[data-job='{job}'] a").click()
    page.wait_for_selector("#job[data-ready]")
    assert page.locator("#loss-chart polyline").count() >= 1  # the loss curve is drawn
    assert page.locator("#pr-chart polyline").count() == 1
    assert "defective when" in page.text_content("body")
    # The snapshot it trained on exports as a zip whose manifest lists exactly its images.
    link = page.locator("#snapshot-export a", has_text="mask PNGs").get_attribute("href")
    exported = page.request.get(link)
    assert exported.status == 200
    with zipfile.ZipFile(io.BytesIO(exported.body())) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    trained = page.request.get(f"/api/jobs/{job}/").json()["snapshot"]
    assert {item["label_version"] for item in manifest["items"]} == set(trained.values())


def test_the_live_page_shows_verdicts_once_a_model_exists(page):
    """After the training test: Crack has a model, so the line's objects are judged."""
    page.goto("/live/")
    page.get_by_role("link", name="Line 1").click()
    page.wait_for_function(
        "Number(document.getElementById('objects').textContent) >= 3", timeout=90_000
    )
    counts = [int(page.text_content(f"#count-{v}")) for v in ("ok", "ng", "not_inspectable")]
    assert sum(counts) >= 3
    assert page.locator("#ticker li").count() >= 3
    # Spot has no model yet: the page says its objects are not judged for Spot.
    assert "Spot" in page.text_content("#judging")
    assert float(page.text_content("#throughput")) > 0


def _png_file(tmp_path, seed):
    from tests.conftest import make_image, png_bytes

    path = tmp_path / f"upload-{seed}.png"
    path.write_bytes(png_bytes(make_image(seed, (128, 608))))
    return path


def test_upload_then_paint_a_mask_that_autosaves(page, tmp_path, platform):
    _open_project(page)
    before = page.locator(".thumbs li").count()
    page.set_input_files("#upload-form input[type=file]", str(_png_file(tmp_path, 77)))
    page.click("#upload-form button[type=submit]")
    page.wait_for_function(
        f"document.querySelectorAll('.thumbs li').length > {before}", timeout=20_000
    )
    page.locator(".thumbs li a").first.click()  # newest first
    page.wait_for_selector("#editor[data-ready]")
    saved = "document.getElementById('save-state').textContent === 'saved'"
    box = page.locator("#mask").bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 60, steps=12)
    page.mouse.up()
    assert page.text_content("#save-state") == "unsaved"
    page.wait_for_function(saved, timeout=10_000)
    image_id = page.get_attribute("#editor", "data-image")
    labels = page.evaluate(f"fetch('/api/images/{image_id}/labels/').then(r => r.json())")
    version = labels[0]["current_version"]
    assert version["kind"] == "mask" and version["positive_pixels"] > 500


def test_inspect_an_image_from_the_project_page(page, tmp_path):
    _open_project(page)
    page.set_input_files("#inspect-form input[type=file]", str(_png_file(tmp_path, 78)))
    page.click("#inspect-form button[type=submit]")
    page.wait_for_selector("#inspect-result:not([hidden])", timeout=30_000)
    result = page.text_content("#inspect-result")
    assert '"verdict"' in result and '"models"' in result
    project = page.get_attribute("#project", "data-project")
    # Every OK goes to review too, so the queue holds this object whatever the verdict.
    status = page.evaluate(
        """async (id) => {
          const csrf = document.cookie.match(/csrftoken=([^;]+)/)[1];
          const r = await fetch(`/api/projects/${id}/`, {method: "PATCH",
            headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
            body: JSON.stringify({audit_ok_sample: 1.0})});
          return r.status;
        }""",
        project,
    )
    assert status == 200
    page.goto("/audit/")
    page.wait_for_selector("#audit[data-ready]")
    rows = page.locator("#queue tbody tr")
    assert rows.count() >= 1
    before = rows.count()
    rows.first.get_by_role("button", name="present").click()
    page.wait_for_function(f"document.querySelectorAll('#queue tbody tr').length === {before - 1}")
    # The figures reload after the decision: the inspected project now counts one object.
    figures = f'.audit-project[data-project="{project}"] dd'
    page.wait_for_function(
        f"Number(document.querySelector('{figures}')?.textContent) >= 1", timeout=10_000
    )


def test_the_placement_helper_draws_coverage_and_blind_spots(page):
    page.goto("/live/placement/")
    page.wait_for_selector("#placement[data-ready]")
    assert page.locator("#placement-diagram .camera").count() == 3
    page.fill("input[name=cameras]", "2")
    page.fill("input[name=distance]", "4")
    page.click("#placement-form button")
    page.wait_for_function("document.querySelectorAll('#placement-diagram .camera').length === 2")
    assert page.locator("#placement-diagram .blind").count() == 2
    assert "Use at least" in page.inner_text("#placement-suggestion")


def test_a_supervisor_stops_and_starts_the_station_from_the_live_page(login):
    frames = "Number(document.getElementById('frame-count').textContent)"
    inspector = login("inspector")
    inspector.goto("/live/")
    inspector.get_by_role("link", name="Line 1").click()
    inspector.wait_for_function(f"{frames} >= 3", timeout=30_000)
    assert inspector.locator("#station-toggle").count() == 0  # watching is not running the line

    page = login("supervisor")
    page.goto("/live/")
    page.get_by_role("link", name="Line 1").click()
    page.wait_for_function(f"{frames} >= 3", timeout=30_000)
    page.click("#station-toggle")
    page.wait_for_function("document.getElementById('conn').textContent === 'stopped'")
    # The inspector's page learns it too, as stopped rather than offline.
    inspector.wait_for_function("document.getElementById('conn').textContent === 'stopped'")
    assert "offline" not in inspector.text_content("#alerts")
    held = page.evaluate(frames)
    page.wait_for_timeout(2500)
    # At most one frame per camera that was already on its way to this browser.
    assert page.evaluate(frames) - held <= 3
    assert page.text_content("#station-toggle") == "Start station"

    page.click("#station-toggle")
    page.wait_for_function(f"{frames} >= {held + 6}", timeout=30_000)
    assert page.text_content("#conn") == "live"
    assert page.text_content("#station-toggle") == "Stop station"


def test_a_station_overrides_a_decision_rule_on_its_setup_page(page):
    stations = page.request.get("/api/stations/").json()["results"]
    station = next(s["id"] for s in stations if s["name"] == "Line 1")
    url = f"/api/stations/{station}/thresholds/"

    def spot_override(wanted):
        deadline = time.monotonic() + 10
        while True:
            rows = page.request.get(url).json()["projects"]
            found = next(r for r in rows if r["defect_type"] == "Spot")["override"]
            if found == wanted or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    page.goto(f"/live/{station}/setup/")
    area = page.locator("#rules tbody tr", has_text="Spot").locator(".rule-area")
    area.fill("321")
    page.click("#save-rules")
    assert spot_override({"min_area": 321}) == {"min_area": 321}
    page.reload()
    assert area.input_value() == "321"
    area.fill("")  # blank again: the model's rule
    page.click("#save-rules")
    assert spot_override(None) is None
