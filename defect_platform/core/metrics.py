"""Prometheus text exposition of requests (this process), jobs and inspections (database)."""

from __future__ import annotations

import threading
from collections import Counter

from django.apps import apps
from django.db.models import Count

_lock = threading.Lock()
_requests: Counter[tuple[str, str]] = Counter()


def count_request(method: str, status: int) -> None:
    with _lock:
        _requests[(method, f"{status // 100}xx")] += 1


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{str(v).replace(chr(34), "")}"' for k, v in labels.items())
    return "{" + inner + "}"


def render() -> str:
    lines = [
        "# HELP defect_http_requests_total HTTP requests served by this process.",
        "# TYPE defect_http_requests_total counter",
    ]
    with _lock:
        for (method, status), n in sorted(_requests.items()):
            lines.append(f"defect_http_requests_total{_labels(method=method, status=status)} {n}")
    job_model = apps.get_model("training", "TrainingJob")
    lines += [
        "# HELP defect_training_jobs Training jobs by status.",
        "# TYPE defect_training_jobs gauge",
    ]
    for row in job_model.objects.values("status").annotate(n=Count("id")).order_by("status"):
        lines.append(f"defect_training_jobs{_labels(status=row['status'])} {row['n']}")
    record_model = apps.get_model("inspection", "InspectionRecord")
    lines += [
        "# HELP defect_inspections_total Inspected objects by verdict.",
        "# TYPE defect_inspections_total counter",
    ]
    for row in record_model.objects.values("verdict").annotate(n=Count("id")).order_by("verdict"):
        lines.append(f"defect_inspections_total{_labels(verdict=row['verdict'])} {row['n']}")
    return "\n".join(lines) + "\n"
