"""What an annotator labels next, with the project's overlap.

The queue hands out one image at a time and records it as an Assignment, so that with an
overlap of n no more than n people are sent the same image: an image is open to a user while
its people's labels plus others' live assignments (handed out, no label yet) number fewer
than n. An assignment lapses after ASSIGNMENT_TTL, so an annotator who walks away does not
hold images for ever.

Among open images the queue prefers, in order: the user's own live assignment (resume where
they left off), images the current model is least sure about (pre-labels, when a model has
run), then the oldest images.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Count, F, FloatField, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotation.models import Assignment, Image, Label
from annotation.review import people_labels

ASSIGNMENT_TTL = timedelta(hours=2)
# How many candidates a claim tries before giving up when others keep taking them.
CLAIM_ATTEMPTS = 20


def _count(queryset) -> Subquery:
    return Coalesce(
        Subquery(
            queryset.values("image").annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


def open_images(project, user):
    """Images this user may be sent: unlabeled by them, with a free place under the overlap.

    Ordered with the most uncertain first where pre-labels say, then by id."""
    since = timezone.now() - ASSIGNMENT_TTL
    others_labels = people_labels(project.pk).filter(image=OuterRef("pk")).exclude(annotator=user)
    # Inside the assignment subquery, OuterRef("image") is the assignment's image.
    labelled = Label.objects.filter(image=OuterRef("image"), current_version__isnull=False)
    others_waiting = (
        Assignment.objects.filter(image=OuterRef("pk"), created_at__gte=since)
        .exclude(user=user)
        .exclude(user__in=labelled.values("annotator"))
    )
    return (
        Image.objects.filter(project=project)
        .exclude(labels__annotator=user, labels__current_version__isnull=False)
        .annotate(
            taken=_count(others_labels) + _count(others_waiting),
            uncertainty=Coalesce(
                F("prelabel__uncertainty"), Value(-1.0), output_field=FloatField()
            ),
        )
        .filter(taken__lt=project.overlap)
        .order_by("-uncertainty", "pk")
    )


def current_assignment(project, user) -> Image | None:
    since = timezone.now() - ASSIGNMENT_TTL
    return (
        open_images(project, user)
        .filter(Q(assignments__user=user) & Q(assignments__created_at__gte=since))
        .first()
    )


def claim_next(project, user) -> Image | None:
    """The next image for `user`, recorded as theirs; None when nothing is left to label."""
    mine = current_assignment(project, user)
    if mine is not None:
        return mine
    candidates = list(open_images(project, user).values_list("pk", flat=True)[:CLAIM_ATTEMPTS])
    for pk in candidates:
        with transaction.atomic():
            # Locking the image serialises claims on it: the second claimer recounts after
            # the first one's assignment is committed.
            image = Image.objects.select_for_update().get(pk=pk)
            if not open_images(project, user).filter(pk=pk).exists():
                continue
            Assignment.objects.update_or_create(
                image=image, user=user, defaults={"created_at": timezone.now()}
            )
            return image
    return None
