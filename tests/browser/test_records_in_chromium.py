"""The records pages in Chromium: the list filtered to NG, one object opened, its view drawn
on the canvas with the defect mask over it, and the mask's toggle and opacity changing the
drawn pixels where the defect is.

NG objects come from the demo's Line 1, which runs whether watched or not: with a Crack model
(trained here when no other test did yet) and, for a moment, a station rule that every view
fails, every object it judges is NG with a Crack mask.
"""

import json
import time

import pytest

pytestmark = pytest.mark.browser


def _csrf(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")


def _send(page, method: str, url: str, body: dict):
    headers = {"X-CSRFToken": _csrf(page), "Content-Type": "application/json"}
    # Starting a job freezes a snapshot of the labels: slow on a busy machine.
    return page.request.fetch(
        url, method=method, data=json.dumps(body), headers=headers, timeout=120_000
    )


def _named(page, url: str, name: str) -> int:
    return next(row["id"] for row in page.request.get(url).json()["results"] if row["name"] == name)


def _ensure_model(page, project: int) -> None:
    if page.request.get(f"/api/projects/{project}/models/").json()["results"]:
        return
    # A few steps at a small input size: any model will do, the station's rule decides.
    tiny = {"epochs": 1, "max_steps_per_epoch": 2, "input_size": [64, 320]}
    started = _send(page, "POST", f"/api/projects/{project}/jobs/", tiny)
    assert started.status == 201, started.text()
    job = started.json()["id"]
    # Training is niced and its runtime gate quantizes the model: minutes on a busy machine.
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = page.request.get(f"/api/jobs/{job}/").json()["status"]
        if status in ("succeeded", "failed", "cancelled"):
            assert status == "succeeded"
            return
        time.sleep(2)
    pytest.fail("training did not finish in 600 s")


def _station_rule(page, station: int, project: int, rule) -> None:
    answer = _send(
        page, "PATCH", f"/api/stations/{station}/thresholds/", {"thresholds": {str(project): rule}}
    )
    assert answer.status == 200, answer.text()


def _wait_for_ng(page, station: int, project: int) -> None:
    url = f"/api/records/?station={station}&verdict=ng&defect_type={project}"
    deadline = time.monotonic() + 90  # the line reloads its rules every 15 s
    while time.monotonic() < deadline:
        if page.request.get(url).json()["count"]:
            return
        time.sleep(1)
    pytest.fail("Line 1 judged no object NG in 90 s")


# A pixel of the first mask on a view with its image, inside the finding's box (off its
# outline), and what the canvas, the photo alone and the defect type's colour hold there.
PROBE = """async () => {
  const data = JSON.parse(document.getElementById("record-data").textContent);
  const cameras = new Set(data.views.filter((v) => v.image_url).map((v) => v.camera));
  const mask = data.masks.find((m) => cameras.has(m.camera));
  const view = data.views.find((v) => v.camera === mask.camera);
  const box = data.boxes.find((b) => b.camera === mask.camera && b.project === mask.project);
  const pixels = async (url) => {
    const img = new Image();
    img.src = url;
    await img.decode();
    const c = document.createElement("canvas");
    [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
    const ctx = c.getContext("2d");
    ctx.drawImage(img, 0, 0);
    return ctx.getImageData(0, 0, c.width, c.height);
  };
  const m = await pixels(mask.url);
  const inside = (x, y) => !box || (x > box.bbox[0] + 3 && x < box.bbox[0] + box.bbox[2] - 4
    && y > box.bbox[1] + 3 && y < box.bbox[1] + box.bbox[3] - 4);
  let at = null;
  for (const wanted of [inside, () => true]) {  // a box too thin to be inside: any defect pixel
    for (let i = 0; i < m.width * m.height && !at; i++) {
      const [x, y] = [i % m.width, Math.floor(i / m.width)];
      if (m.data[4 * i] >= 128 && wanted(x, y)) at = [x, y];
    }
  }
  const photo = await pixels(view.image_url);
  const i = 4 * (at[1] * photo.width + at[0]);
  const n = parseInt(data.types.find((t) => t.project === mask.project).color.slice(1), 16);
  return {view: view.id, project: mask.project, x: at[0], y: at[1],
    size: [photo.width, photo.height],
    photo: Array.from(photo.data.slice(i, i + 3)), color: [n >> 16, (n >> 8) & 255, n & 255]};
}"""


def test_an_ng_record_draws_its_view_and_toggles_the_defect_overlay(login):
    admin = login("admin")
    crack = _named(admin, "/api/projects/", "Crack")
    station = _named(admin, "/api/stations/", "Line 1")
    _ensure_model(admin, crack)
    _station_rule(admin, station, crack, {"threshold": 1e-6, "min_area": 0})
    try:
        _wait_for_ng(admin, station, crack)
    finally:
        _station_rule(admin, station, crack, None)

    admin.goto("/records/")
    admin.select_option("#record-filter select[name=station]", str(station))
    admin.select_option("#record-filter select[name=verdict]", "ng")
    admin.click("#record-filter button[type=submit]")
    admin.wait_for_url("**verdict=ng**")
    verdicts = admin.eval_on_selector_all(
        "#records tbody tr", "rows => rows.map(r => r.dataset.verdict)"
    )
    assert verdicts and set(verdicts) == {"ng"}
    assert admin.locator("#records tbody tr").first.locator("td", has_text="Crack").count() == 1
    admin.locator("#records tbody tr a").first.click()
    admin.wait_for_selector("#record[data-ready]")

    probe = admin.evaluate(PROBE)
    canvas = f'.record-view[data-view="{probe["view"]}"] canvas'
    assert admin.eval_on_selector(canvas, "c => [c.width, c.height]") == probe["size"]

    def pixel():
        return admin.eval_on_selector(
            canvas,
            "(c, [x, y]) => [...c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3)]",
            [probe["x"], probe["y"]],
        )

    def redrawn(action):
        before = int(admin.get_attribute(canvas, "data-drawn"))
        action()
        admin.wait_for_function(
            f"document.querySelector('{canvas}').dataset.drawn > {before}", timeout=5_000
        )

    def near(got, want, slack=2):
        return all(abs(a - b) <= slack for a, b in zip(got, want, strict=True))

    # Drawn: half the photo, half the defect type's colour (opacity 50 %).
    shown = pixel()
    blend = [(p + c) / 2 for p, c in zip(probe["photo"], probe["color"], strict=True)]
    assert near(shown, blend), (shown, blend, probe)
    toggle = admin.locator(f'.overlay-toggle[data-project="{probe["project"]}"]')
    redrawn(lambda: toggle.uncheck())
    hidden = pixel()
    assert hidden != shown and near(hidden, probe["photo"], 1)  # the photo alone
    redrawn(lambda: toggle.check())
    assert pixel() == shown
    redrawn(
        lambda: admin.eval_on_selector(
            "#overlay-opacity", "r => { r.value = 100; r.dispatchEvent(new Event('input')); }"
        )
    )
    assert near(pixel(), probe["color"], 1)  # the mask alone, in its colour
    assert admin.text_content("#overlay-opacity-value") == "100 %"
    assert admin.locator("#findings tbody tr").count() >= 1
    assert "snapshot #" in admin.text_content("#models")
