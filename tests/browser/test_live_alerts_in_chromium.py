"""The live page's alerts and mask overlay in Chromium, on a station of its own: a synthetic
camera beside a network camera (a local MJPEG server). Stopping the server raises the camera
offline alert and starting it again clears it; an NG-rate spike (N and k set small through
the API, the station's decision rule switched from "nothing fails" to "every view fails")
raises the spike alert; the mask toggle changes the drawn pixels."""

import io
import json
import time

import pytest
from PIL import Image as PILImage

from tests.mjpeg_server import serve, stop
from tests.processes import free_port

pytestmark = pytest.mark.browser
NOTHING_FAILS = {"threshold": 1.0, "min_area": 100_000_000}
EVERY_VIEW_FAILS = {"threshold": 1e-6, "min_area": 0}
TINT = (228, 87, 46)  # the live overlay's colour (verdicts.js), at 60 % opacity


def _csrf(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")


def _send(page, method: str, url: str, body: dict | None = None):
    headers = {"X-CSRFToken": _csrf(page), "Content-Type": "application/json"}
    return page.request.fetch(
        url, method=method, data=json.dumps(body or {}), headers=headers, timeout=120_000
    )


def _named(page, url: str, name: str) -> int | None:
    rows = page.request.get(url).json()["results"]
    return next((row["id"] for row in rows if row["name"] == name), None)


def _ensure_model(page, project: int) -> None:
    if page.request.get(f"/api/projects/{project}/models/").json()["results"]:
        return
    # A few steps at a small input size: any model will do, the station's rule decides.
    tiny = {"epochs": 1, "max_steps_per_epoch": 1, "input_size": [64, 320]}
    started = _send(page, "POST", f"/api/projects/{project}/jobs/", tiny)
    assert started.status == 201, started.text()
    job = started.json()["id"]
    deadline = time.monotonic() + 600  # a busy machine
    while time.monotonic() < deadline:
        status = page.request.get(f"/api/jobs/{job}/").json()["status"]
        if status in ("succeeded", "failed", "cancelled"):
            assert status == "succeeded"
            return
        time.sleep(2)
    pytest.fail("training did not finish in 600 s")


def _create_station(page, name: str, project: int) -> int:
    """Through the Django admin's form, as a staff member sets a station up."""
    page.goto("/admin/inspection/station/add/")
    token = page.get_attribute("input[name=csrfmiddlewaretoken]", "value")
    answer = page.request.post(
        "/admin/inspection/station/add/",
        form={
            "csrfmiddlewaretoken": token,
            "name": name,
            "projects": str(project),
            "cameras": json.dumps([{"name": "line", "kind": "synthetic"}]),
            "fps": "4",
            "max_skew_ms": "1000",
            "judge_live": "on",
            "keep_ok_images": "0",
            "ng_alert_window": "50",
            "ng_alert_factor": "3",
            "thresholds": json.dumps({str(project): NOTHING_FAILS}),
            "active": "on",
            "_save": "Save",
        },
        headers={"Referer": page.url},
    )
    assert answer.ok, answer.status
    station = _named(page, "/api/stations/", name)
    assert station, answer.text()[-2000:]
    return station


# A point well inside the live overlay's mask, relative to its camera's frame box.
TINTED_POINT = """() => {
  const canvas = document.querySelector('.camera img[data-camera="line"] + canvas');
  if (canvas.hidden || !canvas.width) return null;
  const [w, h] = [canvas.width, canvas.height];
  const data = canvas.getContext("2d").getImageData(0, 0, w, h).data;
  const rect = canvas.getBoundingClientRect();
  const frame = canvas.parentElement.getBoundingClientRect();
  // Three displayed pixels around it are tinted too, so rounding cannot leave the mask.
  const k = Math.ceil(3 * Math.max(w / rect.width, h / rect.height));
  const tinted = (x, y) => data[4 * (y * w + x) + 3] > 140;
  for (let y = k; y < h - k; y += k) for (let x = k; x < w - k; x += k) {
    if ([[-k, -k], [-k, k], [k, -k], [k, k], [0, 0]].every(([dx, dy]) => tinted(x + dx, y + dy))) {
      return {x: rect.left - frame.left + (x + 0.5) * rect.width / w,
              y: rect.top - frame.top + (y + 0.5) * rect.height / h};
    }
  }
  return null;
}"""
FRAME = '.camera img[data-camera="line"] >> xpath=..'


# What changes when a frame or a verdict lands on the page.
PAGE_STATE = """() => [document.getElementById('frame-count').textContent,
  document.getElementById('objects').textContent,
  document.querySelector('.camera img[data-camera="line"]').src]"""


def _quiet(page) -> list:
    """The page's state once no frame or verdict has landed for two seconds: after a stop,
    a loaded machine can still deliver what was on its way for a while."""
    last = page.evaluate(PAGE_STATE)
    for _ in range(30):
        page.wait_for_timeout(2000)
        now = page.evaluate(PAGE_STATE)
        if now == last:
            return now
        last = now
    raise AssertionError("frames or verdicts kept landing after the station stopped")


def _tinted_pixel_while_quiet(page):
    """A point inside the drawn mask and its screenshot pixel, taken while nothing changed
    between finding the point and the screenshot (else taken again)."""
    for _ in range(3):
        state = _quiet(page)
        point = page.evaluate(TINTED_POINT)
        assert point is not None
        shown = _pixel(page, point)
        if page.evaluate(PAGE_STATE) == state and page.evaluate(TINTED_POINT) == point:
            return point, shown
    raise AssertionError("the overlay changed under every screenshot")


def _pixel(page, point) -> tuple[int, int, int]:
    png = page.locator(FRAME).screenshot()
    return (
        PILImage.open(io.BytesIO(png)).convert("RGB").getpixel((int(point["x"]), int(point["y"])))
    )


def test_camera_offline_and_ng_spike_alerts_and_the_mask_toggle(login):
    admin = login("admin")
    crack = _named(admin, "/api/projects/", "Crack")
    _ensure_model(admin, crack)
    station = _create_station(admin, "Alert line", crack)
    port = free_port()
    server = serve(port)
    try:
        alert = _send(
            admin,
            "PATCH",
            f"/api/stations/{station}/",
            {"ng_alert_window": 5, "ng_alert_factor": 1.5},
        )
        assert alert.status == 200, alert.text()
        cameras = [
            {"name": "line", "kind": "synthetic"},
            {"name": "net", "kind": "stream", "source": f"http://127.0.0.1:{port}/video.mjpg"},
        ]
        saved = _send(admin, "PUT", f"/api/stations/{station}/cameras/", {"cameras": cameras})
        assert saved.status == 200, saved.text()

        admin.goto(f"/live/{station}/")
        admin.wait_for_selector("#live[data-ready]")
        net = '.camera img[data-camera="net"]'
        admin.wait_for_function(f"document.querySelector('{net}').dataset.seq", timeout=30_000)
        assert admin.locator('[data-alert="cam-net"]').count() == 0

        # The network camera loses power: the page says so within 5 s and a few frames.
        stop(server)
        lost = time.monotonic()
        admin.wait_for_selector('[data-alert="cam-net"]', timeout=10_000)
        assert time.monotonic() - lost < 8
        assert "Camera net is offline" in admin.text_content("#alerts")
        assert "offline" in admin.get_attribute('.camera[data-index="1"]', "class")
        assert admin.locator('[data-alert="cam-line"]').count() == 0  # the other one goes on
        server = serve(port)
        admin.wait_for_selector('[data-alert="cam-net"]', state="detached", timeout=30_000)

        # A day of OK objects, then every view fails: the last 5 are all NG, above 1.5 times
        # the day's rate.
        admin.wait_for_function(
            "Number(document.getElementById('count-ok').textContent) >= 6", timeout=90_000
        )
        assert admin.locator('[data-alert="ng-spike"]').count() == 0
        rule = {"thresholds": {str(crack): EVERY_VIEW_FAILS}}
        assert _send(admin, "PATCH", f"/api/stations/{station}/thresholds/", rule).status == 200
        admin.wait_for_selector('[data-alert="ng-spike"]', timeout=90_000)
        text = admin.text_content('[data-alert="ng-spike"]')
        assert "over the last 5 objects" in text and "1.5×" in text
        recent, day = admin.evaluate(
            "['ng-recent', 'ng-rate'].map((id) => parseFloat(document.getElementById(id)"
            ".textContent))"
        )
        assert day > 0 and recent > 1.5 * day, (recent, day)
        # N changed while the page is open: the label follows with the next verdict.
        assert admin.text_content("#ng-window") == "5"
        wider = {"ng_alert_window": 7}
        assert _send(admin, "PATCH", f"/api/stations/{station}/", wider).status == 200
        admin.wait_for_function(
            "document.getElementById('ng-window').textContent === '7'", timeout=30_000
        )

        # The overlay: tinted where the mask is; unticked, the photo alone. The line stops
        # first so the frame under the probe stays the same.
        admin.wait_for_function(f"({TINTED_POINT})() !== null", timeout=30_000)
        assert _send(admin, "POST", f"/api/stations/{station}/stop/").status == 200
        admin.wait_for_function("document.getElementById('conn').textContent === 'stopped'")
        point, shown = _tinted_pixel_while_quiet(admin)
        admin.uncheck("#show-masks")
        hidden = _pixel(admin, point)
        assert admin.locator(".cam-mask:not([hidden])").count() == 0
        assert shown != hidden
        # 60 % of the tint over the photo (a little slack for the canvas' alpha rounding).
        blend = [0.6 * t + 0.4 * p for t, p in zip(TINT, hidden, strict=True)]
        assert all(abs(s - b) <= 6 for s, b in zip(shown, blend, strict=True)), (shown, blend)
    finally:
        stop(server)
        _send(admin, "POST", f"/api/stations/{station}/stop/")
