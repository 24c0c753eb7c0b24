"""One platform (`make run` on a fresh data folder) and one Chromium for every browser test."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
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
    _stop_group(proc)
    log.close()


def _stop_group(proc: subprocess.Popen, grace_s: float = 30.0) -> None:
    """Stop `make run` and everything it started. make itself exits at once on SIGTERM, but
    a Celery worker in a warm shutdown finishes its task first: the whole process group is
    waited for, and what is left after the grace period is killed (the tests are done)."""
    os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        proc.poll()  # reaps make: a zombie leader would keep the group "alive"
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: deploy/setup.sh --test installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def login(browser, platform):
    """Pages signed in as a demo account (admin, or a role account whose password is its
    name); each in its own browser context, closed after the test."""
    contexts = []

    def open_as(username: str = "admin"):
        context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=platform)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", username)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/(projects|live)/$"))
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def page(login):
    return login("admin")
