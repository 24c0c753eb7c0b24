"""The platform started by the README's first command, driven in Debian's Chromium."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.processes import free_port

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """`make run` on a fresh data folder (embedded mode: SQLite, filesystem broker)."""
    data = tmp_path_factory.mktemp("platform")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MEDIA_ROOT")
    }
    env.update(DATA_DIR=str(data), PORT=str(port), TRAINING_LEASE_S="600")
    log = open(data / "run.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        text = (data / "run.log").read_text(errors="replace")
        if "is running:" in text:
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"make run did not start:\n{text[-3000:]}")
        time.sleep(0.5)
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: deploy/setup.sh --test installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, platform):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=platform)
    page = context.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "admin")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/projects/$"))
    yield page
    context.close()


def test_the_demo_answers_health_checks(platform):
    assert requests.get(f"{platform}/healthz", timeout=5).json() == {"status": "ok"}
    ready = requests.get(f"{platform}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text


def test_login_shows_the_demo_projects(page):
    rows = page.locator("table.table tbody tr")
    assert rows.count() == 2
    assert page.locator("text=Crack").first.is_visible()
    page.click("text=Crack")
    assert page.locator(".thumbs li").count() == 24


def test_the_live_page_receives_frames_from_every_camera(page):
    page.goto("/live/")
    page.click("text=Line 1")
    page.wait_for_function(
        "Number(document.getElementById('frame-count').textContent) >= 12", timeout=30_000
    )
    seqs = page.eval_on_selector_all(".camera img", "imgs => imgs.map(i => i.dataset.seq)")
    assert len(seqs) == 3 and all(seqs)
    assert float(page.text_content("#fps")) > 0


def test_training_started_in_the_browser_finishes_with_live_progress(page):
    page.click("text=Crack")
    page.fill("#train-form input[name=epochs]", "1")
    page.click("#train-form button[type=submit]")
    badge = page.locator("#jobs tbody tr").first.locator(".job-status .badge")
    badge.filter(has_text="succeeded").wait_for(timeout=240_000)
    page.reload()
    assert page.locator("text=v1").count() >= 1
