"""Audit figures beyond the per-project report (api.py): human-level diagnosis, prevalence,
daily trends, the disagreement gallery and its way into labeling, shift and lot reports, and
the supervisors' queue of ties.

Every view reads `?station=&since=&until=` the same way (audit_scope) and needs the "inspect"
capability in the project, like the report itself (the ties: "adjudicate"). Every figure
answers `?format=csv` too (audit_csv.py).
"""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from defect_platform.core.access import can, get_project_for_user
from inspection import audit_csv, audit_diagnosis, audit_labeling, audit_queue, audit_reports
from inspection.access import get_station_for_user, records_for_user

SCOPE = [
    OpenApiParameter("station", int, required=False),
    OpenApiParameter("since", OpenApiTypes.DATETIME, required=False, description="inclusive"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, required=False, description="exclusive"),
]
FIGURE = [*SCOPE, audit_csv.FORMAT]


def _moment(params, key: str):
    text = params[key]
    moment = parse_datetime(text)
    if moment is None and parse_date(text) is not None:
        moment = parse_datetime(f"{text}T00:00:00")
    if moment is None:
        raise ValidationError({key: "Use an ISO 8601 date or date and time."})
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def audit_scope(request, project_pk):
    """(project, the user's records narrowed to ?station, ?since, ?until); 404 for projects
    and stations the user may not see, 403 for members who may not inspect."""
    project = get_project_for_user(request.user, project_pk, "inspect")
    return project, narrow(request.user, records_for_user(request.user), request.query_params)


def narrow(user, records, params):
    """`records` narrowed to `params` station, since (inclusive) and until (exclusive)."""
    if params.get("station"):
        try:
            station = get_station_for_user(user, params["station"])
        except Http404:
            raise NotFound(f"No station {params['station']!r} that you may see.") from None
        records = records.filter(station=station)
    since = _moment(params, "since") if params.get("since") else None
    until = _moment(params, "until") if params.get("until") else None
    if since and until and since >= until:
        raise ValidationError({"until": "The range is empty: `until` must come after `since`."})
    if since:
        records = records.filter(captured_at__gte=since)
    if until:
        records = records.filter(captured_at__lt=until)
    return records


class ProjectDiagnosisView(APIView):
    """Human error (each inspector against the others and adjudications), the serving model's
    training and validation error (images) and production error (objects against the
    inspectors' consensus) side by side, and the gap that dominates, in plain words."""

    renderer_classes = audit_csv.RENDERERS

    @extend_schema(parameters=FIGURE, responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_pk):
        project, records = audit_scope(request, project_pk)
        body = audit_diagnosis.diagnose(project, records)
        return audit_csv.respond(request, project, body, audit_csv.DIAGNOSIS)


class ProjectPrevalenceView(APIView):
    """Defect share on the line (inspector-confirmed, weighted for the OK sample) beside the
    training set's, and precision, recall, false-reject and escape rates re-weighted to it."""

    renderer_classes = audit_csv.RENDERERS

    @extend_schema(parameters=FIGURE, responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_pk):
        project, records = audit_scope(request, project_pk)
        body = audit_diagnosis.prevalence_report(project, records)
        return audit_csv.respond(request, project, body, audit_csv.PREVALENCE)


class ProjectAuditTrendsView(APIView):
    """Per local day: objects, NG rate, judged objects, agreement of model and inspectors."""

    renderer_classes = audit_csv.RENDERERS

    @extend_schema(parameters=FIGURE, responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_pk):
        project, records = audit_scope(request, project_pk)
        body = audit_reports.daily_trends(project, records)
        return audit_csv.respond(request, project, body, audit_csv.TRENDS)


class ProjectDisagreementsView(APIView):
    """Judged objects where the model and the inspectors' consensus disagree, newest first,
    with their view images (image_url null where the retention policy removed it)."""

    renderer_classes = audit_csv.RENDERERS

    @extend_schema(parameters=FIGURE, responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_pk):
        project, records = audit_scope(request, project_pk)
        body = audit_labeling.disagreements(project, records)
        body |= {"can_send": may_send(request.user, project)}
        return audit_csv.respond(request, project, body, audit_csv.DISAGREEMENTS)


def may_send(user, project) -> bool:
    return can(user, project, "curate")


class SendToLabelingSerializer(serializers.Serializer):
    records = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        min_length=1,
        max_length=audit_labeling.MAX_RECORDS,
    )


class SendToLabelingView(APIView):
    """Add the view images of the given objects to this defect project's labeling queue (as
    new unlabelled images; views removed by the retention policy are skipped and listed).
    Needs the curate capability: a supervisor, engineer or owner role."""

    @extend_schema(request=SendToLabelingSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, project_pk):
        project, records = audit_scope(request, project_pk)
        if not may_send(request.user, project):
            raise PermissionDenied(
                "Sending images to labeling needs a supervisor, engineer or owner role."
            )
        form = SendToLabelingSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        ids = list(dict.fromkeys(form.validated_data["records"]))
        return Response(audit_labeling.send_to_labeling(project, request.user, records, ids))


class ProjectAuditReportView(APIView):
    """Per shift (fixed 8-hour windows of local time: 06-14, 14-22, 22-06) or per lot:
    objects, NG rates, escapes found by inspectors, false rejects, agreement."""

    renderer_classes = audit_csv.RENDERERS

    @extend_schema(
        parameters=[*FIGURE, OpenApiParameter("by", str, enum=["shift", "lot"], required=False)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, project_pk):
        project, records = audit_scope(request, project_pk)
        by = request.query_params.get("by", "shift")
        if by not in ("shift", "lot"):
            raise ValidationError({"by": "Group by `shift` or `lot`."})
        body = audit_reports.grouped(project, records, by)
        return audit_csv.respond(request, project, body, audit_csv.grouped(by))


class ProjectAuditTiesView(APIView):
    """The supervisors' queue: objects whose inspectors tie on this defect type (as many say
    one thing as another, so the consensus is unsure) and that no supervisor has adjudicated,
    newest first. Settle one with POST /api/records/<id>/decisions/ and `adjudicate: true`."""

    renderer_classes = audit_csv.RENDERERS

    @extend_schema(parameters=FIGURE, responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_pk):
        project = get_project_for_user(request.user, project_pk, "adjudicate")
        records = narrow(request.user, records_for_user(request.user), request.query_params)
        body = audit_queue.ties(project, records)
        return audit_csv.respond(request, project, body, audit_csv.TIES)
