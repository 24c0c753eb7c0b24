"""API of the review workflow, the annotator's queue and pre-labels (thin: the rules live in
annotation.review, annotation.queue and annotation.prelabels)."""

from django.db import transaction
from django.db.models import Count
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import queue, review
from annotation.api import conflict
from annotation.models import Image, Label, PreLabel
from annotation.serializers import (
    ImageSerializer,
    LabelSerializer,
    PreLabelSerializer,
    ReviewActionSerializer,
    ReviewEventSerializer,
    SubmitSerializer,
)
from defect_platform.core.access import can, get_project_for_user, get_scoped


def _label(request, pk, capability) -> Label:
    return get_scoped(
        Label.objects.select_related("current_version"),
        request.user,
        pk,
        capability,
        project_path="image__project",
    )


def _stale(stale: review.StaleReview) -> Response:
    return conflict(
        "The label changed since you opened it; look at the current version.", stale.current
    )


def _refused(exc: review.ReviewRefused):
    return ValidationError({"state": str(exc)})


class LabelSubmitView(APIView):
    """Send your label to review, naming the version you submit."""

    @extend_schema(request=SubmitSerializer, responses={201: ReviewEventSerializer})
    def post(self, request, pk):
        label = _label(request, pk, "label")
        if label.annotator_id != request.user.pk:
            raise PermissionDenied("Only the label's annotator submits it.")
        form = SubmitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            event = review.submit(label, request.user, form.validated_data["version"])
        except review.StaleReview as stale:
            return _stale(stale)
        except review.ReviewRefused as exc:
            raise _refused(exc) from None
        return Response(ReviewEventSerializer(event).data, status=status.HTTP_201_CREATED)


class LabelReviewView(APIView):
    """Accept or reject a label's version (a rejection needs a comment). Accepting your own
    label is how a reviewer overrides the annotators' consensus."""

    @extend_schema(request=ReviewActionSerializer, responses={201: ReviewEventSerializer})
    def post(self, request, pk):
        label = _label(request, pk, "review")
        form = ReviewActionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        act = review.accept if data["action"] == "accept" else review.reject
        try:
            event = act(label, request.user, data["version"], data.get("comment", ""))
        except review.StaleReview as stale:
            return _stale(stale)
        except review.ReviewRefused as exc:
            raise _refused(exc) from None
        return Response(ReviewEventSerializer(event).data, status=status.HTTP_201_CREATED)


class LabelReviewsView(APIView):
    """A label's review history, oldest first."""

    @extend_schema(responses=ReviewEventSerializer(many=True))
    def get(self, request, pk):
        label = _label(request, pk, "view")
        events = label.reviews.select_related("actor")
        return Response(ReviewEventSerializer(events, many=True).data)


class ProjectReviewQueueView(APIView):
    """Submitted labels waiting for a reviewer, oldest first."""

    @extend_schema(responses=LabelSerializer(many=True))
    def get(self, request, project_pk):
        project = get_project_for_user(request.user, project_pk, "review")
        labels = review.review_queue(project)[:200]
        return Response(LabelSerializer(labels, many=True).data)


_QueueSerializer = inline_serializer(
    "AnnotatorQueue",
    {
        "overlap": serializers.IntegerField(),
        "states": serializers.DictField(child=serializers.IntegerField()),
        "rejected": LabelSerializer(many=True),
        "open": serializers.IntegerField(help_text="images you may still be sent"),
        "can_review": serializers.BooleanField(),
        "to_review": serializers.IntegerField(),
    },
)


class ProjectQueueView(APIView):
    """GET: your queue (labels sent back to you, how many images are open to you, image counts
    per state). POST: claim the next image to label; 204 when nothing is left."""

    @extend_schema(responses=_QueueSerializer)
    def get(self, request, project_pk):
        project = get_project_for_user(request.user, project_pk, "label")
        states = dict.fromkeys(review.IMAGE_STATES, 0)
        for row in (
            review.with_state(Image.objects.filter(project=project))
            .values("state")
            .order_by()
            .annotate(n=Count("pk"))
        ):
            states[row["state"]] = row["n"]
        can_review = can(request.user, project, "review")
        return Response(
            {
                "overlap": project.overlap,
                "states": states,
                "rejected": LabelSerializer(
                    review.rejected_labels(project, request.user), many=True
                ).data,
                "open": queue.open_images(project, request.user).count(),
                "can_review": can_review,
                "to_review": review.review_queue(project).count() if can_review else 0,
            }
        )

    @extend_schema(request=None, responses={200: ImageSerializer, 204: None})
    def post(self, request, project_pk):
        project = get_project_for_user(request.user, project_pk, "label")
        image = queue.claim_next(project, request.user)
        if image is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ImageSerializer(image).data)


class ProjectPreLabelsView(APIView):
    """Run the project's current model over its unlabelled images (a background task) to
    propose masks and order the queue by the model's uncertainty."""

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT})
    def post(self, request, project_pk):
        from annotation.tasks import propose_labels
        from training.registry import NoModel, model_for_project

        project = get_project_for_user(request.user, project_pk, "train")
        try:
            version = model_for_project(project)
        except NoModel as exc:
            raise ValidationError({"project": str(exc)}) from None
        transaction.on_commit(lambda: propose_labels.delay(project.pk))
        return Response(
            {"detail": "Pre-labels are being computed.", "model_version": version.pk},
            status=status.HTTP_202_ACCEPTED,
        )


def _prelabel(request, pk) -> PreLabel:
    image = get_scoped(Image.objects.all(), request.user, pk)
    try:
        return image.prelabel
    except PreLabel.DoesNotExist:
        raise Http404("No pre-label for this image.") from None


class ImagePreLabelView(APIView):
    @extend_schema(responses=PreLabelSerializer)
    def get(self, request, pk):
        return Response(PreLabelSerializer(_prelabel(request, pk)).data)


class ImagePreLabelMaskView(APIView):
    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        return FileResponse(_prelabel(request, pk).mask.open("rb"), content_type="image/png")
