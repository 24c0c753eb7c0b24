from celery import shared_task

from annotation import prelabels
from defect_platform.core.models import Project


@shared_task
def propose_labels(project_id: int) -> dict:
    report = prelabels.run(Project.objects.get(pk=project_id))
    return {"model_version": report.model_version, "created": report.created}
