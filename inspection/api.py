from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from defect_platform.core.access import can, get_project_for_user
from inspection import (
    audit,
    audit_api,
    audit_csv,
    audit_queue,
    placement,
    services,
    station_state,
    trigger_relay,
    triggering,
    verdicts,
)
from inspection.access import (
    get_record_for_user,
    get_station_for_user,
    records_for_user,
    stations_for_user,
    visible_project_ids,
)
from inspection.models import RecordMask, RecordView
from inspection.record_filters import RecordFilter
from inspection.serializers import (
    DecisionRequestSerializer,
    DecisionSerializer,
    InspectRequestSerializer,
    PlacementSerializer,
    RecordDetailSerializer,
    RecordSerializer,
    RecordViewSerializer,
    ReferenceSerializer,
    StationAlertSerializer,
    StationSerializer,
    TriggerSerializer,
    VerdictSerializer,
)
from training import registry


class InspectView(APIView):
    """Inspect one object: its view images judged by a project's model or a station's models.

    Answers synchronously with the verdict JSON. Repeating a request with the same
    idempotency key (field or `Idempotency-Key` header) returns the first verdict.
    """

    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "inspect"
    token_scope = "inspect"  # a service token with the inspect scope may call it

    @extend_schema(request=InspectRequestSerializer, responses={200: VerdictSerializer})
    def post(self, request):
        data = request.data.copy()
        if "images" not in request.FILES and "image" in request.FILES:
            data.setlist("images", request.FILES.getlist("image"))
        # Access first: a caller who may not inspect there learns nothing from form errors.
        station, projects = None, []
        if data.get("station"):
            station = get_station_for_user(request.user, data.get("station"))
            projects = [p for p in station.projects.all() if can(request.user, p, "inspect")]
        elif data.get("project"):
            projects = [get_project_for_user(request.user, data.get("project"), "inspect")]
        form = InspectRequestSerializer(data=data)
        form.is_valid(raise_exception=True)
        args = form.validated_data
        cameras = args.get("cameras") or [f"view{i + 1}" for i in range(len(args["images"]))]
        uploads = [(c, f.read()) for c, f in zip(cameras, args["images"], strict=True)]
        key = args["idempotency_key"] or request.headers.get("Idempotency-Key", "")[:120]
        try:
            record = services.inspect_uploads(
                request.user, projects, station, uploads, args["serial"], args["lot"], key
            )
        except registry.NoModel as exc:
            return _conflict(str(exc), "no_model")
        return Response(verdicts.visible_to(record.result, visible_project_ids(request.user)))


def _conflict(detail: str, code: str) -> Response:
    return Response({"detail": detail, "code": code, "errors": {}}, status=status.HTTP_409_CONFLICT)


def _unavailable(detail: str, code: str) -> Response:
    return Response(
        {"detail": detail, "code": code, "errors": {}},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


class StationListView(generics.ListAPIView):
    serializer_class = StationSerializer

    def get_queryset(self):
        return stations_for_user(self.request.user).prefetch_related("projects")


class StationDetailView(generics.RetrieveAPIView):
    """GET: the station. PATCH `{"ng_alert_window": N, "ng_alert_factor": k}`: the live
    page's NG-rate alert (engineers and owners of one of its projects; N from 5 to 10000, k
    above 1 and at most 100). Running stations use them from their next verdict."""

    serializer_class = StationSerializer

    def get_object(self):
        return get_station_for_user(self.request.user, self.kwargs["pk"])

    @extend_schema(request=StationAlertSerializer, responses={200: StationSerializer})
    def patch(self, request, pk):
        station = self.get_object()
        if not any(can(request.user, p, "train") for p in station.projects.all()):
            raise PermissionDenied("Setting the station's alert needs an engineer or owner role.")
        form = StationAlertSerializer(station, data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        changes = form.validated_data
        if changes:  # these fields only: a start or stop at the same moment stays
            for field, value in changes.items():
                setattr(station, field, value)
            station.save(update_fields=list(changes))
        return Response(StationSerializer(station).data)


class RecordListView(generics.ListAPIView):
    """Inspected objects, newest first, filtered by station, verdict, defect type found,
    serial, lot and capture time (`since` inclusive, `until` exclusive)."""

    serializer_class = RecordSerializer
    filterset_class = RecordFilter
    ordering_fields = ["id", "captured_at"]

    def get_queryset(self):
        return records_for_user(self.request.user)


class RecordDetailView(APIView):
    """The record's verdict JSON and its view images (those the retention policy kept)."""

    @extend_schema(responses=RecordDetailSerializer)
    def get(self, request, pk):
        record = get_record_for_user(request.user, pk)
        body = verdicts.visible_to(record.result, visible_project_ids(request.user))
        views = RecordViewSerializer(record.views.all(), many=True).data
        return Response(body | {"views": views})


class RecordViewImageView(APIView):
    """One view image of a record as JPEG; 410 once the retention policy removed it."""

    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    def get(self, request, pk, view_pk):
        record = get_record_for_user(request.user, pk)
        view = RecordView.objects.filter(record=record, pk=view_pk).first()
        if view is None:
            raise Http404("Not found.")
        if not view.file:
            return Response(
                {"detail": "This image was removed by the retention policy.", "code": "gone"},
                status=status.HTTP_410_GONE,
            )
        return FileResponse(view.file.open("rb"), content_type="image/jpeg")


class RecordMaskView(APIView):
    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, pk, mask_pk):
        record = get_record_for_user(request.user, pk)
        mask = RecordMask.objects.filter(record=record, pk=mask_pk).first()
        visible = visible_project_ids(request.user)
        if mask is None or (visible is not None and mask.project_id not in visible):
            raise Http404("Not found.")
        return FileResponse(mask.file.open("rb"), content_type="image/png")


class PlacementView(APIView):
    """Surface coverage of cameras around a cylindrical part: share of the circumference
    inspected, overlaps, blind spots, coverage along the axis, and a suggested layout."""

    @extend_schema(parameters=[PlacementSerializer], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        form = PlacementSerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        try:
            return Response(placement.analyse(placement.Setup(**form.validated_data)))
        except placement.PlacementError as exc:
            raise ValidationError({"distance": str(exc)}) from None


class CameraReferenceView(APIView):
    """Set a camera's golden reference frame: its sharpness, brightness and clipping become
    the baseline; views that drift past the limits make objects "not inspectable"."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=ReferenceSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk, camera):
        station = get_station_for_user(request.user, pk)
        if not any(can(request.user, p, "train") for p in station.projects.all()):
            raise PermissionDenied("Setting up cameras needs an engineer or owner role.")
        form = ReferenceSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        return Response(
            services.set_reference(station, camera, data["image"].read(), data.get("limits"))
        )


class StationTriggerView(APIView):
    """Capture one object from every camera of the station now and judge it (for PLC
    gateways and MES): the verdict JSON. Repeating an idempotency key (field or
    `Idempotency-Key` header) returns the first verdict. 409 with a `code` when it cannot:
    `station_stopped`, `cameras_unusable` (the saved cameras cannot be opened) or `no_model`;
    503 `station_unreachable` when the station's worker does not answer in time, or
    `trigger_failed` when it could not judge the capture."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "inspect"
    token_scope = "inspect"  # a service token with the inspect scope may call it

    @extend_schema(request=TriggerSerializer, responses={200: VerdictSerializer})
    def post(self, request, pk):
        station = get_station_for_user(request.user, pk)
        projects = [p for p in station.projects.all() if can(request.user, p, "inspect")]
        form = TriggerSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        args = form.validated_data
        key = args["idempotency_key"] or request.headers.get("Idempotency-Key", "")[:120]
        try:
            record = triggering.trigger(
                request.user, station, projects, args["serial"], args["lot"], key
            )
        except registry.NoModel as exc:
            return _conflict(str(exc), "no_model")
        except station_state.StationStopped as exc:
            return _conflict(str(exc), "station_stopped")
        except triggering.CaptureFailed as exc:
            return _conflict(str(exc), "cameras_unusable")
        except trigger_relay.StationUnreachable as exc:
            return _unavailable(str(exc), "station_unreachable")
        except trigger_relay.TriggerFailed as exc:
            return _unavailable(str(exc), "trigger_failed")
        return Response(verdicts.visible_to(record.result, visible_project_ids(request.user)))


class RecordDecisionsView(APIView):
    """Inspectors' decisions on an inspected object: list them (an inspector sees the others'
    decisions on a defect type only after judging it), or add yours (confirm the model's
    verdict in one call, or give present/absent/unsure per defect type; a blind decision
    cannot confirm)."""

    @extend_schema(responses=DecisionSerializer(many=True))
    def get(self, request, pk):
        record = get_record_for_user(request.user, pk)
        rows = audit.decisions_for(request.user, record, visible_project_ids(request.user))
        return Response(DecisionSerializer(rows, many=True).data)

    @extend_schema(
        request=DecisionRequestSerializer, responses={201: DecisionSerializer(many=True)}
    )
    def post(self, request, pk):
        record = get_record_for_user(request.user, pk)
        form = DecisionRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        args = form.validated_data
        rows = audit.decide(
            request.user,
            record,
            args.get("decisions"),
            args["confirm"],
            args["blind"],
            args["adjudicate"],
        )
        return Response(DecisionSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class ReviewQueueView(APIView):
    """What to judge next: every NG and a sample of OK objects (the project's
    audit_ok_sample) you have not judged and that still need a judgement: one inspector's,
    or audit_double_inspectors different inspectors' for the double-inspection sample
    (audit_double_sample).
    `?blind=1` leaves the model's verdict out."""

    @extend_schema(
        parameters=[
            OpenApiParameter("station", int, required=False),
            OpenApiParameter("blind", bool, required=False),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        records = records_for_user(request.user)
        station = request.query_params.get("station")
        if station:
            records = records.filter(station=get_station_for_user(request.user, station))
        blind = request.query_params.get("blind") in ("1", "true")
        visible = visible_project_ids(request.user)
        items = []
        for queued in audit_queue.review_queue(request.user, records):
            record = queued.record
            item = {
                "id": record.pk,
                "captured_at": record.captured_at,
                "station": record.station_id,
                "serial": record.serial,
                "projects": [
                    p.pk for p in record.projects.all() if visible is None or p.pk in visible
                ],
                "double_inspection": queued.double_inspection,
                "judgements": queued.judgements,
                "judgements_needed": queued.judgements_needed,
            }
            if not blind:
                item["verdict"] = verdicts.visible_to(record.result, visible)
            items.append(item)
        return Response({"results": items, "blind": blind})


class ProjectAuditView(APIView):
    """The model against the inspectors' consensus for this defect type (confusion counts,
    precision, recall, kappa), inspectors against each other (pairwise and Fleiss' kappa),
    the share of unsure objects and the defect prevalence seen on the line."""

    renderer_classes = audit_csv.RENDERERS

    @extend_schema(parameters=audit_api.FIGURE, responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_pk):
        project, records = audit_api.audit_scope(request, project_pk)
        body = audit.report(project, records)
        return audit_csv.respond(request, project, body, audit_csv.REPORT)
