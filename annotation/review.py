"""Review of labels: submit, accept, reject with a comment, and the image states that follow.

A label's state moves like this:

    in progress --submit--> submitted --accept--> accepted
         ^                      |                    |
         |                      +--reject--> rejected (comment required)
         +------ any new version (an edit) ----------+

A reviewer may accept a label in any state, their own included: that is how a reviewer
overrides the annotators' consensus (paint the image, accept the result). Every step names the
version it acts on; a step on a version that is no longer current is refused as stale, so a
reviewer never accepts content they did not see.

An image's state summarises its people's labels (the consensus account's label is not one):
accepted when any label is, else submitted, else rejected, else in progress; unlabeled with
none.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Case, Exists, OuterRef, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotation.models import Image, Label, LabelVersion, ReviewEvent
from defect_platform.core.events import notify

State = Label.State
IMAGE_STATES = ["unlabeled", *State.values]


class ReviewRefused(Exception):
    """A step the label's state or the acting user does not allow; the message says why."""


class StaleReview(Exception):
    def __init__(self, current: LabelVersion | None):
        super().__init__("The label changed since you opened it.")
        self.current = current


def _locked(label_id: int, version_id: int) -> Label:
    label = (
        Label.objects.select_for_update(of=("self",))
        .select_related("current_version", "image")
        .get(pk=label_id)
    )
    if label.current_version_id != version_id:
        raise StaleReview(label.current_version)
    return label


def _record(label: Label, user, action: str, comment: str) -> ReviewEvent:
    event = ReviewEvent.objects.create(
        label=label,
        version_id=label.current_version_id,
        actor=user,
        action=action,
        comment=comment,
    )
    notify(
        label.image.project_id,
        "label.reviewed",
        {"image": label.image_id, "label": label.pk, "action": action, "state": label.state},
    )
    return event


def submit(label: Label, user, version_id: int) -> ReviewEvent:
    if label.annotator_id != user.pk:
        raise ReviewRefused("Only the label's annotator submits it.")
    with transaction.atomic():
        label = _locked(label.pk, version_id)
        if label.state not in (State.IN_PROGRESS, State.REJECTED):
            raise ReviewRefused(f"This label is {label.get_state_display().lower()} already.")
        label.state = State.SUBMITTED
        label.save(update_fields=["state", "updated_at"])
        return _record(label, user, ReviewEvent.Action.SUBMIT, "")


def accept(label: Label, user, version_id: int, comment: str = "") -> ReviewEvent:
    with transaction.atomic():
        label = _locked(label.pk, version_id)
        if label.current_version.kind == LabelVersion.Kind.UNSURE:
            raise ReviewRefused("An unsure label cannot be accepted: reject it or label it.")
        if label.state == State.ACCEPTED and label.accepted_version_id == version_id:
            raise ReviewRefused("This version is accepted already.")
        label.state = State.ACCEPTED
        label.accepted_version_id = version_id
        label.accepted_at = timezone.now()
        label.save(update_fields=["state", "accepted_version", "accepted_at", "updated_at"])
        return _record(label, user, ReviewEvent.Action.ACCEPT, comment)


def reject(label: Label, user, version_id: int, comment: str) -> ReviewEvent:
    if not comment.strip():
        raise ReviewRefused("A rejection needs a comment that tells the annotator what to fix.")
    with transaction.atomic():
        label = _locked(label.pk, version_id)
        if label.state == State.REJECTED:
            raise ReviewRefused("This version is rejected already.")
        label.state = State.REJECTED
        label.save(update_fields=["state", "updated_at"])
        return _record(label, user, ReviewEvent.Action.REJECT, comment.strip())


def people_labels(project_id: int | None = None) -> QuerySet[Label]:
    """Labels by people (not the consensus account) that hold at least one version."""
    from annotation.services import CONSENSUS_USER

    labels = Label.objects.filter(current_version__isnull=False).exclude(
        annotator__username=CONSENSUS_USER
    )
    return labels.filter(image__project_id=project_id) if project_id else labels


def with_state(images: QuerySet[Image]) -> QuerySet[Image]:
    """Annotate each image with `state` (one of IMAGE_STATES), computed in the database so
    lists can filter and count by it."""

    def having(state):
        return Exists(people_labels().filter(image=OuterRef("pk"), state=state))

    any_label = Exists(people_labels().filter(image=OuterRef("pk")))
    return images.annotate(
        state=Coalesce(
            Case(
                When(having(State.ACCEPTED), then=Value(State.ACCEPTED.value)),
                When(having(State.SUBMITTED), then=Value(State.SUBMITTED.value)),
                When(having(State.REJECTED), then=Value(State.REJECTED.value)),
                When(any_label, then=Value(State.IN_PROGRESS.value)),
                default=Value("unlabeled"),
            ),
            Value("unlabeled"),
        )
    )


def review_queue(project) -> QuerySet[Label]:
    """What reviewers look at next: submitted labels, oldest submission first."""
    return (
        people_labels(project.pk)
        .filter(state=State.SUBMITTED)
        .select_related("image", "annotator", "current_version")
        .order_by("updated_at", "pk")
    )


def rejected_labels(project, user) -> QuerySet[Label]:
    """The user's labels a reviewer sent back, oldest first: someone waits on them."""
    return (
        people_labels(project.pk)
        .filter(annotator=user, state=State.REJECTED)
        .select_related("image", "current_version")
        .order_by("updated_at", "pk")
    )
