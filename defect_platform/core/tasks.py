from celery import shared_task

from defect_platform.core import webhooks


@shared_task(bind=True, max_retries=webhooks.MAX_ATTEMPTS)
def deliver_webhook(self, delivery_id: int) -> None:
    wait = webhooks.attempt(delivery_id)
    if wait is not None:
        raise self.retry(countdown=wait)
