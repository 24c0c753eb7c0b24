from celery import shared_task

from annotation import import_jobs, prelabels
from defect_platform.core.models import Project


@shared_task
def propose_labels(project_id: int) -> dict:
    report = prelabels.run(Project.objects.get(pk=project_id))
    return {"model_version": report.model_version, "created": report.created}


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def run_import(self, job_id: int) -> None:
    # A worker killed mid-import gets the message back; the job resumes once its lease lapses.
    wait = import_jobs.run(job_id)
    if wait:
        raise self.retry(countdown=wait + 1)


@shared_task
def reap_stale_imports() -> list[int]:
    return import_jobs.reap_stale_imports()
