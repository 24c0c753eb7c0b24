"""The audit dashboard in Chromium: objects inspected and judged through the API, then the
page draws its figures, chart and disagreement gallery, and prints a report.

Inspected objects need a model: the test trains a small one for the demo's Crack project
when no other test did yet. Sending to labeling is answered by a stub here, so the demo
projects keep their image counts for the other browser tests; the endpoint itself is tested
in tests/inspection/test_audit_reports.py.
"""

import json
import os
import time

import pytest

from tests.conftest import make_image, png_bytes

pytestmark = pytest.mark.browser


def _csrf(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")


def _crack(page) -> int:
    projects = page.request.get("/api/projects/").json()["results"]
    return next(p["id"] for p in projects if p["name"] == "Crack")


def _ensure_model(page, project: int) -> None:
    if page.request.get(f"/api/projects/{project}/models/").json()["results"]:
        return
    started = page.request.post(
        f"/api/projects/{project}/jobs/",
        data=json.dumps({"epochs": 1}),
        headers={"X-CSRFToken": _csrf(page), "Content-Type": "application/json"},
    )
    assert started.status == 201, started.text()
    job = started.json()["id"]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        body = page.request.get(f"/api/jobs/{job}/").json()
        if body["status"] in ("succeeded", "failed", "cancelled"):
            assert body["status"] == "succeeded", body.get("error")
            return
        time.sleep(2)
    pytest.fail("training did not finish in 240 s")


def _inspect(page, project: int, seed: int) -> dict:
    pixels = make_image(seed, (128, 608))
    pixels[0, 0] = list(os.urandom(3))
    answer = page.request.post(
        "/api/inspect/",
        multipart={
            "project": str(project),
            "serial": f"audit-{seed}",
            "lot": "L-audit",
            "images": {"name": "v.png", "mimeType": "image/png", "buffer": png_bytes(pixels)},
        },
        headers={"X-CSRFToken": _csrf(page)},
    )
    assert answer.status == 200, answer.text()
    return answer.json()


def _decide(page, record: int, project: int, value: str) -> None:
    answer = page.request.post(
        f"/api/records/{record}/decisions/",
        data=json.dumps({"decisions": {str(project): value}}),
        headers={"X-CSRFToken": _csrf(page), "Content-Type": "application/json"},
    )
    assert answer.status == 201, answer.text()


def test_the_audit_dashboard_explains_empty_figures_and_bad_ranges(login):
    """The demo's Spot has no model, so nothing on the line is judged for it."""
    admin = login("admin")
    projects = admin.request.get("/api/projects/").json()["results"]
    spot = next(p["id"] for p in projects if p["name"] == "Spot")
    admin.goto("/audit/")
    admin.wait_for_selector("#audit[data-ready]")
    box = f'.audit-project[data-project="{spot}"]'
    admin.wait_for_selector(f"{box}[data-loaded]")
    assert admin.text_content(f"{box} dd") == "0"
    assert admin.get_attribute(f"{box} .diagnosis", "data-outcome") == "insufficient_data"
    assert "missing" in admin.text_content(f"{box} .diagnosis")
    assert "No trained model" in admin.text_content(f"{box} .prevalence-message")
    assert "no data yet" in admin.text_content(f"{box} .trend-chart")
    assert admin.locator(f"{box} .gallery-empty").is_visible()
    admin.fill("#audit-filter input[name=since]", "2024-03-02")
    admin.fill("#audit-filter input[name=until]", "2024-03-01")
    admin.click("#audit-filter button[type=submit]")
    admin.wait_for_selector("#filter-error:not([hidden])")
    assert "range is empty" in admin.text_content("#filter-error")
    admin.goto("/audit/report/?by=shift")
    assert "No inspected objects" in admin.text_content("#audit-report")


def test_the_audit_dashboard_draws_its_figures_and_gallery(login):
    admin = login("admin")
    project = _crack(admin)
    _ensure_model(admin, project)
    objects = [_inspect(admin, project, seed) for seed in (301, 302, 303)]
    said = [
        "present" if any(d["project"] == project for d in o["defects"]) else "absent"
        for o in objects
    ]
    other = {"present": "absent", "absent": "present"}
    # Object 0: both inspectors contradict the model (a disagreement); the others agree.
    wanted = [other[said[0]], said[1], said[2]]
    for account in ("inspector", "supervisor"):
        judge = login(account)
        for o, value in zip(objects, wanted, strict=True):
            _decide(judge, o["id"], project, value)

    admin.goto("/audit/")
    admin.wait_for_selector("#audit[data-ready]")
    box = f'.audit-project[data-project="{project}"]'
    admin.wait_for_selector(f"{box}[data-loaded]")
    assert int(admin.text_content(f"{box} dd")) >= 3  # objects judged
    assert admin.locator(f"{box} .trend-chart polyline").count() >= 1
    assert admin.get_attribute(f"{box} .diagnosis", "data-outcome")
    assert admin.locator(f"{box} .prevalence-table tbody tr").count() == 5
    assert admin.locator(f"{box} .diagnosis-table tbody tr").count() == 5

    # The charts show the API's figures: the confusion cells hold its counts, the error-gap
    # chart a bar for each error the diagnosis could compute.
    report = admin.request.get(f"/api/projects/{project}/audit/").json()
    for key in ("tp", "fp", "fn", "tn"):
        cell = admin.text_content(f'{box} .confusion-chart g[data-cell="{key}"] .count')
        assert int(cell) == report["confusion"][key], key
    diagnosis = admin.request.get(f"/api/projects/{project}/diagnosis/").json()
    computed = sum(v is not None for v in diagnosis["errors"].values())
    assert admin.locator(f"{box} .gap-chart rect").count() == computed >= 1
    fleiss = report["inspectors"]["fleiss_kappa"]
    shown = admin.locator(f"{box} dt", has_text="Fleiss").locator("xpath=following-sibling::dd[1]")
    assert shown.text_content() == ("–" if fleiss is None else f"{fleiss:.2f}")
    anchoring = report["anchoring"]["sighted"]["agree_with_model"]
    sighted = admin.locator(f"{box} dt", has_text="blind / sighted")
    shown = sighted.locator("xpath=following-sibling::dd[1]").text_content()
    assert shown.endswith(f"{100 * anchoring:.1f} %")  # the API's decisions were sighted
    assert "No shadow candidate" in admin.text_content(f"{box} .challenger")
    links = admin.locator(f"{box} .csv-link")
    assert links.count() == 6
    csv = admin.request.get(links.first.get_attribute("href"))
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text().splitlines()) >= 2  # a header and the model's row

    # A tie: the inspector and the supervisor split on a fourth object. The supervisor sees
    # it under "Ties to settle" and settles it in one click.
    tied = _inspect(admin, project, 304)
    _decide(login("inspector"), tied["id"], project, "present")
    supervisor = login("supervisor")
    _decide(supervisor, tied["id"], project, "absent")
    supervisor.goto("/audit/")
    supervisor.wait_for_selector(f"{box}[data-loaded]")
    row = supervisor.locator(f'{box} .ties-table tr[data-record="{tied["id"]}"]')
    assert "present" in row.text_content() and "absent" in row.text_content()
    row.get_by_role("button", name="absent").click()
    row.wait_for(state="detached")
    ties = supervisor.request.get(f"/api/projects/{project}/audit/ties/").json()
    assert all(t["record"] != tied["id"] for t in ties["results"])

    item = admin.locator(f'{box} .disagreements li[data-record="{objects[0]["id"]}"]')
    assert item.count() == 1
    image = item.locator("img").first
    # Gallery images load lazily: bring this one on screen before asking whether it loaded.
    image.wait_for(state="attached")
    image.scroll_into_view_if_needed()
    admin.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )

    posted = []

    def stub(route):
        posted.append(route.request.post_data_json)
        route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps(
                {
                    "added": [{"record": objects[0]["id"], "camera": "view1", "image": 1}],
                    "already_in_project": [],
                    "skipped": [],
                    "unknown_records": [],
                    "message": "1 image(s) added to the labeling queue.",
                }
            ),
        )

    admin.route("**/audit/send-to-labeling/", stub)
    admin.click(f"{box} .send-to-labeling")
    admin.wait_for_function(
        f"document.querySelector('{box} .send-result').textContent.includes('labeling queue')"
    )
    assert objects[0]["id"] in posted[0]["records"]

    admin.goto("/audit/report/?by=lot")
    assert admin.locator("td", has_text="L-audit").count() >= 1
    admin.emulate_media(media="print")
    assert not admin.locator(".topbar").is_visible()
    assert not admin.locator(".audit-filter").is_visible()


def _send(page, method: str, url: str, body=None):
    answer = page.request.fetch(
        url,
        method=method,
        data=None if body is None else json.dumps(body),
        headers={"X-CSRFToken": _csrf(page), "Content-Type": "application/json"},
    )
    assert answer.ok, answer.text()
    return answer.json()


def _checked_for(admin, record: int, projects: list[int]) -> None:
    """Set the defect types a record was checked for, in the Django admin."""
    admin.goto(f"/admin/inspection/inspectionrecord/{record}/change/")
    admin.select_option("select[name=projects]", [str(p) for p in projects])
    admin.click("input[name=_save]")
    admin.wait_for_selector(".messagelist .success, .errornote")
    assert admin.locator(".errornote").count() == 0, admin.text_content("#content")


def _decisions(page, record: int) -> list[tuple[int, str, bool]]:
    rows = page.request.get(f"/api/records/{record}/decisions/").json()
    return sorted((d["project"], d["decision"], d["blind"]) for d in rows)


def test_an_inspector_confirms_judges_blind_and_per_defect_type_in_the_queue(login):
    """The review queue's Confirm button, its blind checkbox and the per-defect-type choices,
    clicked by the demo inspector, and the decisions they stored.

    Every station of the demo that could check an object for two defect types needs a model
    for Spot, which the other tests rely on Spot not having; so the admin adds Spot to one
    inspected object in the Django admin, and takes it off again at the end. Line 1 stops
    meanwhile, so its live verdicts do not push these objects out of the queue's first 50
    (nor its frames slow the training of a model, when no other test trained one yet)."""
    admin = login("admin")
    crack = _crack(admin)
    projects = admin.request.get("/api/projects/").json()["results"]
    spot = next(p["id"] for p in projects if p["name"] == "Spot")
    stations = admin.request.get("/api/stations/").json()["results"]
    line = next(s["id"] for s in stations if s["name"] == "Line 1")
    ok_sample = admin.request.get(f"/api/projects/{crack}/").json()["audit_ok_sample"]
    both = None
    try:
        _send(admin, "POST", f"/api/stations/{line}/stop/")
        _ensure_model(admin, crack)
        # Every object to the queue, OK verdicts too.
        _send(admin, "PATCH", f"/api/projects/{crack}/", {"audit_ok_sample": 1.0})
        confirmed, blind, both = (_inspect(admin, crack, seed) for seed in (401, 402, 403))
        said = "present" if any(d["project"] == crack for d in confirmed["defects"]) else "absent"
        _checked_for(admin, both["id"], [crack, spot])
        inspector = login("inspector")
        inspector.goto("/audit/")
        inspector.wait_for_selector("#audit[data-ready]")
        row = inspector.locator(f'#queue tr[data-record="{confirmed["id"]}"]')
        assert row.locator("td").nth(3).text_content() == confirmed["verdict"].upper()
        row.get_by_role("button", name="Confirm").click()
        row.wait_for(state="detached")
        assert _decisions(inspector, confirmed["id"]) == [(crack, said, False)]

        inspector.check("#blind")
        # The queue reloads without the model's verdict, and without Confirm: a blind
        # inspector cannot take a verdict they did not see.
        row = inspector.locator(f'#queue tr[data-record="{blind["id"]}"]')
        inspector.wait_for_function(
            "id => document.querySelector(`#queue tr[data-record='${id}'] td:nth-child(4)`)"
            "?.textContent === 'hidden'",
            arg=blind["id"],
        )
        assert inspector.locator("#queue button", has_text="Confirm").count() == 0
        row.get_by_role("button", name="unsure").click()
        row.wait_for(state="detached")
        assert _decisions(inspector, blind["id"]) == [(crack, "unsure", True)]

        row = inspector.locator(f'#queue tr[data-record="{both["id"]}"]')
        assert row.locator("select").count() == 2
        row.get_by_role("button", name="Save").click()  # nothing chosen: nothing stored
        inspector.wait_for_selector(".toast.error >> text=at least one defect type")
        assert _decisions(inspector, both["id"]) == []
        row.locator(f'select[data-project="{crack}"]').select_option("absent")
        row.locator(f'select[data-project="{spot}"]').select_option("present")
        row.get_by_role("button", name="Save").click()
        row.wait_for(state="detached")
        assert _decisions(inspector, both["id"]) == [
            (crack, "absent", True),
            (spot, "present", True),
        ]
        queue = inspector.request.get("/api/review-queue/").json()["results"]
        assert not {r["id"] for r in queue} & {confirmed["id"], blind["id"], both["id"]}
    finally:
        if both is not None:
            _checked_for(admin, both["id"], [crack])
        _send(admin, "PATCH", f"/api/projects/{crack}/", {"audit_ok_sample": ok_sample})
        _send(admin, "POST", f"/api/stations/{line}/start/")
