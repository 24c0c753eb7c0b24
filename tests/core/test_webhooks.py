"""Webhooks: subscriptions by owners, signed POSTs to a real HTTP receiver, retries with
back-off, a delivery log, and the events that produce them."""

import hashlib
import hmac
import json

import pytest

from defect_platform.core import webhooks
from defect_platform.core.models import Webhook, WebhookDelivery
from inspection.camera_events import CameraWatch
from inspection.capture import View
from inspection.models import Station
from tests.processes import free_port
from tests.webhook_receiver import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _verify(secret: str, headers: dict, body: bytes) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Signature-256"])


@pytest.mark.django_db
def test_owners_subscribe_and_others_may_not(project, owner, annotator, client_for, receiver):
    body = {"url": receiver.url, "events": ["job.finished"]}
    assert (
        client_for(annotator)
        .post(f"/api/projects/{project.pk}/webhooks/", body, format="json")
        .status_code
        == 403
    )
    created = client_for(owner).post(f"/api/projects/{project.pk}/webhooks/", body, format="json")
    assert created.status_code == 201 and len(created.json()["secret"]) == 64
    bad = client_for(owner).post(
        f"/api/projects/{project.pk}/webhooks/",
        {"url": "file:///etc/passwd", "events": ["nope"]},
        format="json",
    )
    assert bad.status_code == 400
    assert {key.split(".")[0] for key in bad.json()["errors"]} == {"url", "events"}
    hook_id = created.json()["id"]
    assert client_for(owner).delete(f"/api/webhooks/{hook_id}/").status_code == 204
    assert Webhook.objects.get(pk=hook_id).active is False  # kept, with its log


@pytest.mark.django_db
def test_a_finished_job_is_delivered_signed(
    labelled_project, owner, receiver, django_capture_on_commit_callbacks
):
    from tests.conftest import TINY_JOB
    from training import services

    hook = Webhook.objects.create(
        project=labelled_project, url=receiver.url, secret="k" * 40, events=["job.finished"]
    )
    with django_capture_on_commit_callbacks(execute=False):
        job = services.create_job(labelled_project, owner, dict(TINY_JOB))
        services.run_job(job.pk)
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.event == "job.finished"
    assert webhooks.attempt(delivery.pk) is None
    headers, body = receiver.requests[0]
    assert _verify(hook.secret, headers, body)
    assert not _verify("another secret of 40 characters........", headers, body)
    envelope = json.loads(body)
    assert envelope["event"] == "job.finished" and envelope["data"]["job"] == job.pk
    job.refresh_from_db()
    assert envelope["data"]["status"] == "succeeded"
    assert envelope["data"]["model_version"] == job.model_version.pk
    assert headers["X-Delivery"] == str(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 204)


@pytest.mark.django_db
def test_failures_are_retried_with_back_off_then_given_up(project):
    flaky = Receiver(fail=2)
    try:
        hook = Webhook.objects.create(project=project, url=flaky.url, secret="x" * 32)
        (delivery,) = webhooks.emit([project.pk], "camera.offline", {"camera": "cam1"})
        assert [webhooks.attempt(delivery.pk) for _ in range(3)] == [2.0, 4.0, None]
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.error) == ("delivered", 3, "")
    finally:
        flaky.close()
    # Nobody listening: every attempt fails, and the delivery is given up after the last.
    hook.url = f"http://127.0.0.1:{free_port()}/gone"
    hook.save()
    (lost,) = webhooks.emit([project.pk], "camera.offline", {"camera": "cam2"})
    waits = [webhooks.attempt(lost.pk) for _ in range(webhooks.MAX_ATTEMPTS)]
    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0, None]
    lost.refresh_from_db()
    assert lost.status == "failed" and "ConnectionError" in lost.error
    assert webhooks.attempt(lost.pk) is None and lost.attempts == webhooks.MAX_ATTEMPTS


@pytest.mark.django_db
def test_camera_transitions_become_one_event_each(project, receiver):
    Webhook.objects.create(project=project, url=receiver.url, secret="x" * 32)
    station = Station.objects.create(name="Cams")
    station.projects.set([project])
    watch = CameraWatch(station.pk)

    def views(*states):
        return [
            View(f"cam{i}", i, None, None, s, "" if s == "online" else "unplugged")
            for i, s in enumerate(states, 1)
        ]

    seen = [watch.changes(views(*s)) for s in [("online", "online"), ("online", "offline")]]
    seen += [watch.changes(views("online", "offline")), watch.changes(views("online", "online"))]
    assert seen == [[], [("cam2", "offline", "unplugged")], [], [("cam2", "online", "")]]
    watch.tell(seen[1] + seen[3])
    events = list(WebhookDelivery.objects.order_by("pk").values_list("event", "payload"))
    assert [e for e, _ in events] == ["camera.offline", "camera.online"]
    assert events[0][1]["camera"] == "cam2" and events[0][1]["station"] == station.pk


@pytest.mark.django_db
def test_ng_verdicts_and_only_those_are_sent(trained_model, owner, receiver):
    import numpy as np

    from inspection.services import inspect_uploads
    from tests.conftest import make_image, png_bytes

    project = trained_model.project
    Webhook.objects.create(project=project, url=receiver.url, secret="x" * 32)
    records = []
    for seed in range(4):
        pixels = make_image(seed)
        if seed % 2 == 0:  # the training set's defect: a bright square
            pixels[20:36, 20:36] = 255
        records.append(
            inspect_uploads(owner, [project], None, [("cam1", png_bytes(np.asarray(pixels)))])
        )
    sent = {d.payload["id"] for d in WebhookDelivery.objects.filter(event="verdict.ng")}
    assert sent == {r.pk for r in records if r.verdict == "ng"}
