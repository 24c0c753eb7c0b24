"""Frame times of the browser mask editor while painting a large image.

A private embedded server (SQLite, temporary folder) holds one user, one project and one
image of the given size; headless Chromium opens its editor and paints with synthetic pointer
events for a few seconds. The editor reports, per displayed frame, the main-thread time it
spent on input and on redrawing the label (`window.__editorStats`); a frame that needs more
than ~16 ms of it cannot keep up with a 60 Hz display.

Run as `python -m defect_platform.bench.editor_frames FOLDER WIDTH HEIGHT PASSWORD` it is the
fixture step instead: it fills the private server's fresh database and prints the image id.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from defect_platform.bench.timing import percentile
from defect_platform.core.processes import ROOT, start_web

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BRUSH = 48  # image pixels: a brush for a large image seen whole
# Settings that would point the private server at this installation's shared services.
_SHARED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MEDIA_ROOT")
_READY = "document.querySelector('#editor[data-ready]') !== null"
_SAVED = "document.getElementById('save-state').textContent === 'saved'"
# Pointer events dispatched in the page every 4 ms (250 Hz, a fast mouse): driven from here,
# each event would wait for a round trip to the browser and arrive slower than frames.
# Strokes last a second and follow a Lissajous curve over the image, like a hand scribbling.
_SCRIBBLE = """async ({ seconds, x, y, width, height }) => {
  const frame = document.getElementById("viewport");
  const [cx, cy, rx, ry] = [x + width / 2, y + height / 2, width * 0.4, height * 0.4];
  let t = 0;
  let events = 0;
  let strokeEnd = 0;
  const at = () => [cx + rx * Math.sin(1.3 * t), cy + ry * Math.sin(2.1 * t)];
  const fire = (type, [clientX, clientY]) => {
    events += 1;
    frame.dispatchEvent(new PointerEvent(type, {
      clientX, clientY, pointerId: 1, pointerType: "mouse", isPrimary: true, button: 0,
      buttons: type === "pointerup" ? 0 : 1, bubbles: true, cancelable: true,
    }));
  };
  const stats = window.__editorStats;
  stats.frameWork.length = 0;
  stats.frameInterval.length = 0;
  const end = performance.now() + seconds * 1000;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (now >= end) {
        fire("pointerup", at());
        clearInterval(timer);
        resolve();
        return;
      }
      if (now >= strokeEnd) {
        if (strokeEnd) fire("pointerup", at());
        fire("pointerdown", at());
        strokeEnd = now + 1000;
      }
      t += 0.01;
      fire("pointermove", at());
    }, 4);
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { ...stats, events };
}"""


def measure(size: tuple[int, int] = (4096, 4096), seconds: float = 4.0, log=print) -> dict:
    """Paints for `seconds` on a `size` (width, height) image; frame times in milliseconds."""
    label = f"{size[0]}x{size[1]}"
    if not Path(CHROMIUM).exists():
        log(f"   {CHROMIUM} is missing: editor frame times not measured")
        return {"editor.image": label, "editor.skipped": f"{CHROMIUM} is missing"}
    password = secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory(prefix="bench-editor-") as folder:
        root = Path(folder)
        env = {k: v for k, v in os.environ.items() if k not in _SHARED}
        env |= {"DATA_DIR": str(root / "data"), "DEBUG": "1", "PYTHONUNBUFFERED": "1"}
        (root / "data").mkdir()
        python = [sys.executable]
        subprocess.run([*python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        fixture = subprocess.run(
            [*python, "-m", __name__, folder, str(size[0]), str(size[1]), password],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        image = json.loads(fixture.stdout.splitlines()[-1])["image"]
        web, url = start_web(env, root)
        try:
            figures = _paint(url, image, password, seconds)
        finally:
            web.stop()
    work, intervals = figures.pop("work"), figures.pop("intervals")
    if not work or not intervals:
        raise RuntimeError("the editor drew no frames while painting: see the browser console")
    log(f"   {len(work)} frames painted on {label}")
    return {
        "editor.frame_ms_p50": float(percentile(work, 50)),
        "editor.frame_ms_p95": float(percentile(work, 95)),
        "editor.frame_interval_ms_p50": float(percentile(intervals, 50)),
        "editor.frame_interval_ms_p95": float(percentile(intervals, 95)),
        "editor.frames": len(work),
        "editor.image": label,
        **figures,
    }


def _paint(url: str, image: int, password: str, seconds: float) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768}, base_url=url)
            page.goto("/login/")
            page.fill("input[name=username]", "bench")
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url("**/projects/")
            page.goto(f"/images/{image}/label/")
            page.wait_for_function(_READY, timeout=120_000)
            page.evaluate(
                """(size) => {
                  const input = document.getElementById('brush-size');
                  input.value = String(size);
                  input.dispatchEvent(new Event('input'));
                }""",
                BRUSH,
            )
            box = page.locator("#mask").bounding_box()
            stats = page.evaluate(_SCRIBBLE, {"seconds": seconds, **box})
            started = time.perf_counter()
            page.keyboard.press("Control+s")
            page.wait_for_function(_SAVED, timeout=120_000)
            save_ms = (time.perf_counter() - started) * 1000
        finally:
            browser.close()
    return {
        "work": stats["frameWork"],
        "intervals": stats["frameInterval"],
        "editor.pointer_events": stats["events"],
        "editor.save_ms": save_ms,
    }


def _image_png(width: int, height: int) -> bytes:
    import numpy as np
    from PIL import Image

    # Smooth shading with a faint texture: realistic to look at, and it compresses.
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    grey = 110 + 50 * np.sin(x / 97.0) * np.cos(y / 131.0) + 8 * np.sin((x + 2 * y) / 5.0)
    buf = io.BytesIO()
    Image.fromarray(grey.clip(0, 255).astype(np.uint8), mode="L").save(buf, format="PNG")
    return buf.getvalue()


def main(folder: str, width: str, height: str, password: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "defect_platform.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from annotation.services import add_image
    from defect_platform.core.models import Membership, Project

    user = get_user_model().objects.create_user("bench", password=password)
    project = Project.objects.create(name="Bench editor", slug="bench-editor", created_by=user)
    Membership.objects.create(project=project, user=user, role="owner")
    png = _image_png(int(width), int(height))
    image, _ = add_image(project, png, f"bench-{width}x{height}.png", user)
    sys.stdout.write(json.dumps({"image": image.pk, "folder": folder}) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:5])
