"""Pages. Thin: each finds its objects through the scoped lookups and renders a template."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render

from annotation import review
from annotation.models import Image
from defect_platform.core.access import can, get_project_for_user, get_scoped, projects_for_user
from defect_platform.core.navigation import landing_for
from inspection import record_pages
from inspection.access import (
    get_record_for_user,
    get_station_for_user,
    records_for_user,
    stations_for_user,
)
from inspection.record_filters import RecordFilter
from training.models import ModelVersion, TrainingJob
from training.services import compare, input_size_for, suggested_input_size, worst_images


@login_required
def home(request):
    return redirect(landing_for(request.user))


@login_required
def project_list(request):
    projects = projects_for_user(request.user).annotate(
        image_count=Count("images", distinct=True),
        model_count=Count("model_versions", distinct=True),
    )
    return render(request, "frontend/project_list.html", {"projects": projects})


@login_required
def project_detail(request, pk):
    project = get_project_for_user(request.user, pk)
    images = review.with_state(project.images.all()).order_by("-id")[:60]
    suggested = suggested_input_size(project)
    context = {
        "project": project,
        "images": images,
        "image_count": project.images.count(),
        "jobs": project.jobs.all()[:10],
        "models": project.model_versions.all()[:10],
        "promotions": project.promotions.select_related("model_version", "promoted_by")[:10],
        "suggested_input_size": suggested,
        "input_size": input_size_for(project, suggested),
        "can_import": can(request.user, project, "import"),
        "can_label": can(request.user, project, "label"),
        "can_review": can(request.user, project, "review"),
        "can_train": can(request.user, project, "train"),
        "can_inspect": can(request.user, project, "inspect"),
    }
    return render(request, "frontend/project_detail.html", context)


@login_required
def label_image(request, pk):
    image = get_scoped(Image.objects.all(), request.user, pk, "label")
    siblings = Image.objects.filter(project=image.project)
    context = {
        "image": image,
        "project": image.project,
        "previous": siblings.filter(pk__lt=image.pk).order_by("-pk").first(),
        "next": siblings.filter(pk__gt=image.pk).order_by("pk").first(),
        "can_review": can(request.user, image.project, "review"),
    }
    return render(request, "frontend/label_image.html", context)


@login_required
def station_list(request):
    stations = stations_for_user(request.user).prefetch_related("projects")
    return render(request, "frontend/station_list.html", {"stations": stations})


@login_required
def station_live(request, pk):
    station = get_station_for_user(request.user, pk)
    projects = list(station.projects.all())
    context = {
        "station": station,
        # Fused models span every project of the station: managing them needs all of them.
        "can_train_all": bool(projects) and all(can(request.user, p, "train") for p in projects),
        "can_operate": any(can(request.user, p, "operate") for p in projects),
    }
    return render(request, "frontend/station_live.html", context)


@login_required
def placement(request):
    return render(request, "frontend/placement.html")


@login_required
def audit(request):
    records = records_for_user(request.user).select_related("station")[:200]
    projects = [p for p in projects_for_user(request.user) if can(request.user, p, "inspect")]
    for project in projects:
        project.can_adjudicate = can(request.user, project, "adjudicate")
    return render(request, "frontend/audit.html", {"records": records, "projects": projects})


@login_required
def record_list(request):
    """Inspected objects the user may see, filtered as the records API filters them."""
    found = RecordFilter(request.GET, queryset=records_for_user(request.user), request=request)
    records = found.qs.select_related("station") if found.is_valid() else found.qs.none()
    page = Paginator(records, record_pages.PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": found,
        "page": page,
        "rows": record_pages.list_rows(page, request.user),
        "query": query.urlencode(),
    }
    return render(
        request, "frontend/record_list.html", context, status=200 if found.is_valid() else 400
    )


@login_required
def record_detail(request, pk):
    """One inspected object: its views with the stored defect masks as overlays."""
    record = get_record_for_user(request.user, pk)
    return render(request, "frontend/record.html", record_pages.record_page(request.user, record))


@login_required
def job_detail(request, pk):
    job = get_scoped(TrainingJob.objects.all(), request.user, pk)
    version = ModelVersion.objects.filter(job=job).first()
    context = {
        "job": job,
        "project": job.project,
        "version": version,
        "validation": (version.metrics.get("validation") if version else None) or {},
        "worst": worst_images(version.metrics, dataset=job.dataset) if version else [],
        "can_train": can(request.user, job.project, "train"),
        "can_export": can(request.user, job.project, "import"),
    }
    return render(request, "frontend/job_detail.html", context)


@login_required
def project_agreement(request, pk):
    """How far the project's annotators agree (filled from the agreement API)."""
    project = get_project_for_user(request.user, pk)
    return render(request, "frontend/agreement.html", {"project": project})


@login_required
def compare_models(request, pk):
    project = get_project_for_user(request.user, pk)
    pair = [
        get_scoped(ModelVersion.objects.select_related("job"), request.user, request.GET.get(key))
        for key in ("a", "b")
    ]
    if any(v.project_id != project.pk for v in pair):
        raise Http404("Compare versions of this project.")
    return render(
        request, "frontend/compare.html", {"project": project, "comparison": compare(*pair)}
    )


@login_required
def project_import(request, pk):
    """Import a zip or image files: upload progress, the worker's progress, the report."""
    project = get_project_for_user(request.user, pk, "import")
    jobs = project.import_jobs.select_related("created_by")[:10]
    return render(request, "frontend/import.html", {"project": project, "jobs": jobs})


@login_required
def audit_report(request):
    """Printable audit report per shift or per lot, for every defect type the user inspects
    (?by=shift|lot&station=&since=&until=, as the reports API)."""
    from rest_framework.exceptions import APIException

    from inspection import audit_api, audit_reports

    by = "lot" if request.GET.get("by") == "lot" else "shift"
    projects = [p for p in projects_for_user(request.user) if can(request.user, p, "inspect")]
    context = {"by": by, "params": request.GET, "reports": [], "error": None}
    try:
        records = audit_api.narrow(request.user, records_for_user(request.user), request.GET)
    except APIException as exc:
        context["error"] = " ".join(_messages(exc.detail))
        return render(request, "frontend/audit_report.html", context, status=exc.status_code)
    context["reports"] = [audit_reports.grouped(p, records, by) for p in projects]
    context["stations"] = stations_for_user(request.user)
    return render(request, "frontend/audit_report.html", context)


def _messages(detail) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _messages(value)]
    if isinstance(detail, list):
        return [m for value in detail for m in _messages(value)]
    return [str(detail)]


@login_required
def station_setup(request, pk):
    """The station's cameras: kind, source, settings, and a probe of what each accepted."""
    station = get_station_for_user(request.user, pk)
    can_setup = any(can(request.user, p, "train") for p in station.projects.all())
    return render(
        request, "frontend/station_setup.html", {"station": station, "can_setup": can_setup}
    )
