from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import agreement, import_jobs, review, services
from annotation.exporting import export_zip
from annotation.formats import export
from annotation.formats.archive import ArchiveRejected
from annotation.imaging import ImageRejected, encode_png
from annotation.importing import import_zip
from annotation.models import Image, ImportJob, LabelVersion
from annotation.renditions import displayable
from annotation.serializers import (
    ImageDetailSerializer,
    ImageSerializer,
    ImportReportSerializer,
    ImportRequestSerializer,
    LabelSerializer,
    LabelVersionSerializer,
    SaveLabelSerializer,
    UploadResultSerializer,
    UploadSerializer,
)
from defect_platform.core.access import get_project_for_user, get_scoped
from training.models import DatasetSnapshot

PER_IMAGE_SHOWN = 100  # the least-agreed images listed one by one; the histogram counts all


class ProjectImagesView(generics.ListAPIView):
    """List a project's images, or upload image files (multipart field `files`, repeatable)."""

    queryset = Image.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = ImageSerializer
    parser_classes = [MultiPartParser, FormParser]
    ordering_fields = ["id", "created_at"]
    filterset_fields = ["sha256"]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "state", str, enum=review.IMAGE_STATES, description="labeling/review state"
            )
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        project = get_project_for_user(self.request.user, self.kwargs["project_pk"])
        images = review.with_state(Image.objects.filter(project=project))
        state = self.request.query_params.get("state")
        if state:
            if state not in review.IMAGE_STATES:
                raise ValidationError({"state": f"Use one of {', '.join(review.IMAGE_STATES)}."})
            images = images.filter(state=state)
        return images

    @extend_schema(request=UploadSerializer, responses={201: UploadResultSerializer})
    def post(self, request, project_pk):
        project = get_project_for_user(request.user, project_pk, "import")
        files = request.FILES.getlist("files")
        UploadSerializer(data={"files": files}).is_valid(raise_exception=True)
        report = services.upload_images(project, files, request.user)
        body = UploadResultSerializer(
            {"created": report.created, "duplicates": report.duplicates, "errors": report.errors}
        ).data
        if report.created:
            code = status.HTTP_201_CREATED
        elif report.errors:
            body = {
                "detail": f"No image imported: {report.errors[0]['name']}: "
                f"{report.errors[0]['reason']}",
                "code": "storage_full" if report.storage_full else "invalid",
                "errors": {"files": [f"{e['name']}: {e['reason']}" for e in report.errors]},
                **body,
            }
            code = (
                status.HTTP_507_INSUFFICIENT_STORAGE
                if report.storage_full
                else status.HTTP_400_BAD_REQUEST
            )
        else:
            code = status.HTTP_200_OK
        return Response(body, status=code)


class ImageDetailView(generics.RetrieveAPIView):
    serializer_class = ImageDetailSerializer

    def get_object(self):
        return get_scoped(Image.objects.all(), self.request.user, self.kwargs["pk"])


class ImageFileView(APIView):
    """The image as a browser shows it: the stored file, or an 8-bit PNG copy of a TIFF or
    16-bit image (training and exports keep the original)."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        image = get_scoped(Image.objects.all(), request.user, pk)
        name, content_type = displayable(image)
        return FileResponse(default_storage.open(name, "rb"), content_type=content_type)


def conflict(detail: str, current: LabelVersion | None) -> Response:
    """409 with the label's current version, so the client can merge or reload."""
    body = {"detail": detail, "code": "conflict", "errors": {}}
    body["current_version"] = LabelVersionSerializer(current).data if current else None
    return Response(body, status=status.HTTP_409_CONFLICT)


class ImageLabelsView(APIView):
    """List the labels of an image, or save a new version of your own label.

    A save names `base_version` (the version it edits; empty for a first save). If the label
    changed since, the answer is 409 with the current version, and nothing is written.
    """

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=LabelSerializer(many=True))
    def get(self, request, pk):
        image = get_scoped(Image.objects.all(), request.user, pk)
        labels = image.labels.select_related("annotator", "current_version__author")
        return Response(LabelSerializer(labels, many=True).data)

    @extend_schema(request=SaveLabelSerializer, responses={201: LabelVersionSerializer})
    def post(self, request, pk):
        image = get_scoped(Image.objects.all(), request.user, pk, "label")
        form = SaveLabelSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        mask = data.get("mask")
        try:
            version = services.save_label(
                image,
                request.user,
                data["kind"],
                mask.read() if mask else None,
                data["soft"],
                data.get("base_version"),
            )
        except ImageRejected as exc:
            raise ValidationError({"mask": str(exc)}) from None
        except services.StaleVersion as stale:
            return conflict(
                "This label was changed since you loaded it; reload or merge.", stale.current
            )
        return Response(LabelVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class LabelVersionDetailView(generics.RetrieveAPIView):
    serializer_class = LabelVersionSerializer

    def get_object(self):
        return get_scoped(
            LabelVersion.objects.select_related("author"),
            self.request.user,
            self.kwargs["pk"],
            project_path="label__image__project",
        )


class LabelVersionMaskView(APIView):
    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        version = get_scoped(
            LabelVersion.objects.all(), request.user, pk, project_path="label__image__project"
        )
        if not version.mask:
            from django.http import Http404

            raise Http404("This version has no mask (it is a negative or unsure label).")
        return FileResponse(version.mask.open("rb"), content_type="image/png")


class ImportUploadSerializer(ImportRequestSerializer):
    archive = serializers.FileField(
        required=False,
        help_text="a zip of images with masks beside them, or with a COCO or VIA JSON file",
    )
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),  # reported by name, not refused
        required=False,
        help_text="image files (and <stem>.png masks beside them) instead of a zip; repeatable",
    )

    def validate(self, attrs):
        if not attrs.get("archive") and not attrs.get("files"):
            raise ValidationError({"archive": "Send a zip (`archive`) or image files (`files`)."})
        return attrs


class ImportJobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "project",
            "created_by",
            "file_name",
            "mask_mode",
            "category",
            "status",
            "total",
            "done",
            "progress",
            "report",
            "error",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_progress(self, job) -> float:
        if job.status == ImportJob.Status.SUCCEEDED:
            return 1.0
        return round(job.done / job.total, 4) if job.total else 0.0


_WAIT = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


class ProjectImportView(generics.ListAPIView):
    """Import a zip archive (or loose image files): images, with masks beside them becoming
    labels. Small uploads are imported within the request (201 with the report); large ones,
    or any with `?wait=0`, are stored and imported by a worker (202 with the import job:
    follow it at /api/imports/{id}/ or through `import.progress` project events). `?wait=1`
    imports within the request whatever the size. GET lists the project's import jobs."""

    queryset = ImportJob.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        project = get_project_for_user(self.request.user, self.kwargs["project_pk"], "import")
        return ImportJob.objects.filter(project=project).select_related("created_by")

    @extend_schema(
        request=ImportUploadSerializer,
        parameters=[
            OpenApiParameter(
                "wait",
                bool,
                description="import within the request (true) or in the background (false); "
                f"default: within the request up to {import_jobs.SYNC_MAX_BYTES // 2**20} MB",
            )
        ],
        responses={201: ImportReportSerializer, 202: ImportJobSerializer},
    )
    def post(self, request, project_pk):
        project = get_project_for_user(request.user, project_pk, "import")
        form = ImportUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        wait = request.query_params.get("wait", "").lower()
        if wait and wait not in _WAIT:
            raise ValidationError({"wait": "Use 1 (import now) or 0 (in the background)."})
        archive = data.get("archive")
        upload = archive or import_jobs.pack_files(data["files"])
        name = archive.name if archive else f"{len(data['files'])} files"
        category = data.get("category") or None
        try:
            if not _WAIT.get(wait, import_jobs.upload_size(upload) <= import_jobs.SYNC_MAX_BYTES):
                with transaction.atomic():
                    job = import_jobs.start(
                        project, request.user, upload, name, data["masks"], category
                    )
                return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
            report = import_zip(project, request.user, upload, data["masks"], category=category)
        except ArchiveRejected as exc:
            raise ValidationError({"archive": str(exc)}) from None
        finally:
            upload.close()
        code = status.HTTP_201_CREATED if report.images else status.HTTP_400_BAD_REQUEST
        body = report.as_dict()
        if not report.images:
            first = (
                report.errors[0] if report.errors else {"name": "archive", "reason": "no images"}
            )
            body |= {
                "detail": f"Nothing imported: {first['name']}: {first['reason']}",
                "code": "invalid",
                "errors": {"archive": [first["reason"]]},
            }
        return Response(body, status=code)


class ImportJobDetailView(generics.RetrieveAPIView):
    """One background import: status, items done of total, and the per-item report."""

    serializer_class = ImportJobSerializer

    def get_object(self):
        return get_scoped(ImportJob.objects.all(), self.request.user, self.kwargs["pk"], "import")


class _FormatIsTheExportFormat(DefaultContentNegotiation):
    """`?format=` names the export format here, not a DRF renderer; errors answer in JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ProjectExportView(APIView):
    """The project's labels (the ones training uses) as a zip: `coco` (images and a COCO
    JSON with exact RLE masks), `via` (a VIA project of polygon outlines) or `masks` (images/
    beside masks/, soft values kept). Import reads each back."""

    content_negotiation_class = _FormatIsTheExportFormat

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(export.FORMATS), default="coco"),
            OpenApiParameter(
                "snapshot",
                int,
                description="a training snapshot of the project: export exactly its images and "
                "label versions, each marked train or validation",
            ),
        ],
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request, project_pk):
        project = get_project_for_user(request.user, project_pk, "import")
        fmt = request.query_params.get("format", "coco")
        if fmt not in export.FORMATS:
            raise ValidationError({"format": f"Choose one of {', '.join(export.FORMATS)}."})
        snapshot = None
        if request.query_params.get("snapshot"):
            snapshot = get_scoped(
                DatasetSnapshot.objects.filter(project=project),
                request.user,
                request.query_params["snapshot"],
                "import",
            )
        data, count = export_zip(project, fmt, snapshot)
        if not count:
            raise ValidationError({"project": "The project has no labels to export yet."})
        suffix = f"-snapshot{snapshot.pk}" if snapshot else ""
        filename = f"{project.slug}{suffix}-{fmt}.zip"
        response = FileResponse(data, as_attachment=True, filename=filename)
        response["Content-Type"] = "application/zip"
        return response


class ProjectAgreementView(APIView):
    """How far the project's annotators agree: per image (pairwise IoU and Dice), per
    annotator (mean IoU with the others, and with labels reviewers accepted), per project
    (IoU quartiles, pooled pixel kappa, `iou_histogram` over every compared image). Images
    with fewer than two annotators are left out; `per_image` lists only the 100 images with the
    least agreement, first."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_pk):
        project = get_project_for_user(request.user, project_pk)
        images = project.images.all()
        summary = agreement.summarise(
            services.annotator_masks(images), services.accepted_masks(images)
        )
        summary["per_image"] = summary["per_image"][:PER_IMAGE_SHOWN]
        return Response(summary)


class ImageAgreementView(APIView):
    """One image's annotators: pairwise IoU and Dice, and the consensus soft label's share
    of disputed pixels."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        image = get_scoped(Image.objects.all(), request.user, pk)
        masks = services.annotator_masks([image]).get(image.pk, {})
        soft = agreement.consensus(list(masks.values())) if masks else None
        disputed = float(((soft > 0) & (soft < 255)).mean()) if soft is not None else None
        return Response(
            {
                "image": image.pk,
                "annotators": sorted(masks),
                "pairs": agreement.pairwise(masks),
                "disputed_share": disputed,
            }
        )


class ImageDisagreementView(APIView):
    """A PNG heat map of where the image's annotators disagree (255: an even split)."""

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        image = get_scoped(Image.objects.all(), request.user, pk)
        masks = list(services.annotator_masks([image]).get(image.pk, {}).values())
        if len(masks) < 2:
            raise ValidationError({"image": "Fewer than two annotators have labelled this image."})
        return HttpResponse(encode_png(agreement.disagreement_map(masks)), content_type="image/png")
