"""Review workflow: submit, accept, reject with a comment; image states; the reviewer's
override of consensus; the annotator queue with overlap; pre-labels."""

import threading

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from annotation import queue, review
from annotation.models import Assignment, Label, ReviewEvent
from annotation.services import CONSENSUS_USER, add_image, save_label, training_labels
from defect_platform.core.models import AuditLogEntry
from tests.conftest import make_image, png_bytes


def _square(left, shape=(20, 30)):
    mask = np.zeros(shape, np.uint8)
    mask[0:10, left : left + 10] = 255
    return mask


@pytest.fixture
def reviewer(make_user, project):
    return make_user("reviewer", "reviewer", project)


@pytest.fixture
def images(project, owner):
    return [
        add_image(project, png_bytes(make_image(seed, (20, 30))), f"{seed}.png", owner)[0]
        for seed in range(4)
    ]


def _states(client, project):
    body = client.get(f"/api/projects/{project.pk}/images/").json()
    return {row["id"]: row["state"] for row in body["results"]}


@pytest.mark.django_db
def test_submit_reject_fix_accept_through_the_api(project, images, annotator, reviewer, client_for):
    ann, rev = client_for(annotator), client_for(reviewer)
    image = images[0]
    assert _states(ann, project)[image.pk] == "unlabeled"
    v1 = save_label(image, annotator, "mask", png_bytes(_square(0)), False, None)
    label = v1.label
    assert _states(ann, project)[image.pk] == "in_progress"

    # Only the annotator submits; reviewers see it in their queue.
    assert rev.post(f"/api/labels/{label.pk}/submit/", {"version": v1.pk}).status_code == 403
    assert ann.post(f"/api/labels/{label.pk}/submit/", {"version": v1.pk}).status_code == 201
    assert _states(ann, project)[image.pk] == "submitted"
    queued = rev.get(f"/api/projects/{project.pk}/review-queue/").json()
    assert [row["id"] for row in queued] == [label.pk]
    # Annotators are not reviewers.
    assert ann.get(f"/api/projects/{project.pk}/review-queue/").status_code == 403
    refused = ann.post(f"/api/labels/{label.pk}/review/", {"action": "accept", "version": v1.pk})
    assert refused.status_code == 403

    # A rejection needs a comment, and the annotator sees it.
    bare = rev.post(f"/api/labels/{label.pk}/review/", {"action": "reject", "version": v1.pk})
    assert bare.status_code == 400 and "comment" in bare.json()["detail"]
    rejected = rev.post(
        f"/api/labels/{label.pk}/review/",
        {"action": "reject", "version": v1.pk, "comment": "The edge is missed on the left."},
    )
    assert rejected.status_code == 201
    mine = ann.get(f"/api/projects/{project.pk}/queue/").json()
    assert [row["id"] for row in mine["rejected"]] == [label.pk]
    assert mine["rejected"][0]["last_review"]["comment"] == "The edge is missed on the left."
    assert mine["states"]["rejected"] == 1
    listed = ann.get(f"/api/images/{image.pk}/labels/").json()[0]
    assert listed["state"] == "rejected" and listed["last_review"]["actor"] == "reviewer"

    # The fix is a new version: it reopens the label; a review of the old one is stale.
    v2 = save_label(image, annotator, "mask", png_bytes(_square(2)), False, v1.pk)
    assert Label.objects.get(pk=label.pk).state == "in_progress"
    ann.post(f"/api/labels/{label.pk}/submit/", {"version": v2.pk})
    stale = rev.post(f"/api/labels/{label.pk}/review/", {"action": "accept", "version": v1.pk})
    assert stale.status_code == 409 and stale.json()["current_version"]["id"] == v2.pk
    ok = rev.post(f"/api/labels/{label.pk}/review/", {"action": "accept", "version": v2.pk})
    assert ok.status_code == 201
    assert _states(ann, project)[image.pk] == "accepted"
    assert [
        r["id"]
        for r in ann.get(f"/api/projects/{project.pk}/images/?state=accepted").json()["results"]
    ] == [image.pk]
    history = ann.get(f"/api/labels/{label.pk}/reviews/").json()
    assert [e["action"] for e in history] == ["submit", "reject", "submit", "accept"]
    assert ReviewEvent.objects.filter(label=label).count() == 4  # nothing rewritten


@pytest.mark.django_db
def test_an_edit_after_acceptance_keeps_training_on_the_accepted_version(
    project, images, annotator, reviewer
):
    image = images[0]
    v1 = save_label(image, annotator, "mask", png_bytes(_square(0)), False, None)
    review.accept(v1.label, reviewer, v1.pk)
    v2 = save_label(image, annotator, "mask", png_bytes(_square(10)), False, v1.pk)
    label = Label.objects.get(pk=v1.label_id)
    assert label.state == "in_progress" and label.accepted_version_id == v1.pk
    assert training_labels(project)[image.pk] == v1
    review.accept(label, reviewer, v2.pk)
    assert training_labels(project)[image.pk] == v2


@pytest.mark.django_db
def test_a_reviewer_overrides_the_consensus_by_accepting_their_own_label(
    project, images, owner, annotator, reviewer
):
    image = images[0]
    save_label(image, owner, "mask", png_bytes(_square(0)), False, None)
    save_label(image, annotator, "mask", png_bytes(_square(10)), False, None)
    assert training_labels(project)[image.pk].label.annotator.username == CONSENSUS_USER
    own = save_label(image, reviewer, "mask", png_bytes(_square(5)), False, None)
    review.accept(own.label, reviewer, own.pk, "settled: the defect is the middle one")
    assert training_labels(project)[image.pk] == own


@pytest.mark.django_db
def test_unsure_labels_cannot_be_accepted_and_states_do_not_repeat(
    project, images, annotator, reviewer
):
    unsure = save_label(images[0], annotator, "unsure", None, False, None)
    with pytest.raises(review.ReviewRefused, match="unsure"):
        review.accept(unsure.label, reviewer, unsure.pk)
    v = save_label(images[1], annotator, "negative", None, False, None)
    review.submit(v.label, annotator, v.pk)
    with pytest.raises(review.ReviewRefused, match="submitted already"):
        review.submit(Label.objects.get(pk=v.label_id), annotator, v.pk)


@pytest.mark.django_db
def test_the_queue_sends_each_image_to_overlap_annotators(
    project, images, owner, annotator, make_user, client_for
):
    project.overlap = 2
    project.save()
    third = make_user("third", "annotator", project)
    got = {}
    for user in (owner, annotator, third):
        client = client_for(user)
        got[user.username] = []
        for _ in range(len(images)):
            answer = client.post(f"/api/projects/{project.pk}/queue/")
            if answer.status_code == 204:
                break
            image_id = answer.json()["id"]
            # Resuming returns the same image until it is labelled.
            assert client.post(f"/api/projects/{project.pk}/queue/").json()["id"] == image_id
            got[user.username].append(image_id)
            image = next(i for i in images if i.pk == image_id)
            save_label(image, user, "negative", None, False, None)
    # 4 images x overlap 2 = 8 places: the first two take all 4 each, the third gets none.
    assert sorted(got["owner"]) == sorted(got["annotator"]) == [i.pk for i in images]
    assert got["third"] == []


@pytest.mark.django_db
def test_owners_set_the_overlap_through_the_project_api(
    project, owner, annotator, reviewer, outsider, make_user, client_for
):
    url = f"/api/projects/{project.pk}/"
    answer = client_for(owner).patch(url, {"overlap": 3}, format="json")
    assert answer.status_code == 200 and answer.json()["overlap"] == 3
    project.refresh_from_db()
    assert project.overlap == 3
    entry = AuditLogEntry.objects.get(action=AuditLogEntry.Action.PROJECT_SETTINGS)
    assert entry.detail["changes"] == {"overlap": ["1", "3"]}
    for bad in (0, 11, -2, "two", None, 2.5):
        answer = client_for(owner).patch(url, {"overlap": bad}, format="json")
        assert answer.status_code == 400, bad
        assert "overlap" in answer.json()["errors"], answer.json()
    engineer = make_user("engineer", "engineer", project)
    for user in (annotator, reviewer, engineer):
        answer = client_for(user).patch(url, {"overlap": 5}, format="json")
        assert answer.status_code == 403, user.username
    assert client_for(outsider).patch(url, {"overlap": 5}, format="json").status_code == 404
    project.refresh_from_db()
    assert project.overlap == 3
    assert AuditLogEntry.objects.count() == 1


@pytest.mark.django_db
def test_live_assignments_hold_places_and_lapse(project, images, owner, annotator):
    first = queue.claim_next(project, owner)  # overlap 1: held for owner
    second = queue.claim_next(project, annotator)
    assert first.pk != second.pk
    Assignment.objects.filter(user=owner).update(
        created_at=timezone.now() - queue.ASSIGNMENT_TTL * 2
    )
    # After the lapse, owner's image is open again: the annotator is offered it before newer.
    save_label(second, annotator, "negative", None, False, None)
    assert queue.claim_next(project, annotator).pk == first.pk


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_exceed_the_overlap(project, owner, make_user):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter; SQLite serialises writers")
    image, _ = add_image(project, png_bytes(make_image(5, (20, 30))), "x.png", owner)
    users = [make_user(f"c{i}", "annotator", project) for i in range(6)]
    barrier = threading.Barrier(len(users))
    claimed = []

    def claim(user):
        barrier.wait()
        try:
            claimed.append(queue.claim_next(project, user))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for c in claimed if c is not None) == 1  # overlap 1
    assert Assignment.objects.filter(image=image).count() == 1


@pytest.mark.django_db
def test_prelabels_propose_masks_and_order_the_queue(trained_model, owner, client_for):
    from annotation import prelabels

    project = trained_model.project
    fresh = [
        add_image(project, png_bytes(make_image(100 + s, (64, 64))), f"n{s}.png", owner)[0]
        for s in range(3)
    ]
    report = prelabels.run(project)
    assert report.created == len(fresh) and report.model_version == trained_model.pk
    client = client_for(owner)
    body = client.get(f"/api/images/{fresh[0].pk}/prelabel/").json()
    assert body["model_version"] == trained_model.pk and 0.0 <= body["uncertainty"] <= 1.0
    png = client.get(body["mask_url"])
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    # Labelled images get no proposal; a second run adds nothing.
    assert prelabels.run(project).created == 0
    ranked = list(queue.open_images(project, owner).values_list("pk", "uncertainty")[:3])
    assert [u for _, u in ranked] == sorted((u for _, u in ranked), reverse=True)
    assert {pk for pk, _ in ranked} == {i.pk for i in fresh}


def test_the_prelabel_api_queues_the_task_and_the_queue_follows_uncertainty(
    trained_model, owner, client_for, django_capture_on_commit_callbacks
):
    from annotation.models import PreLabel
    from annotation.tasks import propose_labels

    project = trained_model.project
    fresh = [
        add_image(project, png_bytes(make_image(200 + s, (64, 64))), f"p{s}.png", owner)[0]
        for s in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client_for(owner).post(f"/api/projects/{project.pk}/prelabels/")
    assert response.status_code == 202 and response.json()["model_version"] == trained_model.pk
    assert len(queued) == 1  # the task goes out once the request's transaction commits
    propose_labels.apply(args=(project.pk,)).get()  # the task itself, run here
    assert PreLabel.objects.filter(image__in=fresh).count() == 3
    # The most uncertain first, whatever order the images came in.
    for image, uncertainty in zip(fresh, (0.2, 0.9, 0.5), strict=True):
        PreLabel.objects.filter(image=image).update(uncertainty=uncertainty)
    ranked = list(queue.open_images(project, owner).values_list("pk", flat=True)[:3])
    assert ranked == [fresh[1].pk, fresh[2].pk, fresh[0].pk]


def test_prelabels_need_a_model_and_an_engineer(project, owner, make_user, client_for):
    refused = client_for(owner).post(f"/api/projects/{project.pk}/prelabels/")
    assert refused.status_code == 400 and "model" in refused.json()["detail"].lower()
    annotator = make_user("ann-p", "annotator", project)
    assert client_for(annotator).post(f"/api/projects/{project.pk}/prelabels/").status_code == 403
