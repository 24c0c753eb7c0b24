from celery import shared_task
from django.conf import settings

from inspection import challenger, retention


@shared_task
def prune_record_images() -> int:
    return retention.enforce_cap(settings.RECORD_IMAGES_MAX_MB * 1024 * 1024)


@shared_task
def replay_model(replay_id: int) -> None:
    challenger.run(replay_id)
