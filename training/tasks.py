from celery import shared_task

from training import services


@shared_task(acks_late=True)
def run_training_job(job_id: int) -> None:
    services.run_job(job_id, isolate_runtimes=True)


@shared_task
def reap_stale_jobs() -> list[int]:
    return services.reap_stale_jobs()


@shared_task(acks_late=True)
def train_fused_model(fused_id: int) -> None:
    from training import fused_services

    fused_services.run(fused_id, isolate_runtimes=True)
