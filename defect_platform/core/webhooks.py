"""Webhooks: events written as delivery rows first (durable), then POSTed by a Celery task.

Each POST carries the JSON body, `X-Event`, `X-Delivery` (the row id, for receivers that drop
repeats) and `X-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the exact body bytes under
the webhook's secret; receivers recompute it and compare in constant time. A failed delivery
(network error, timeout, any non-2xx) is retried after 2, 4, 8 ... seconds, up to MAX_ATTEMPTS,
then marked failed; every attempt's outcome stays in the delivery log.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import requests
from django.db import transaction
from django.utils import timezone

from defect_platform.core.models import Webhook, WebhookDelivery

MAX_ATTEMPTS = 6
TIMEOUT_S = 5.0


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(delivery: WebhookDelivery) -> bytes:
    envelope = {
        "event": delivery.event,
        "delivery": delivery.pk,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def emit(project_ids, event: str, payload: dict) -> list[WebhookDelivery]:
    """Queue `event` for every active webhook of these projects that wants it; sent once the
    current transaction commits."""
    deliveries = [
        WebhookDelivery.objects.create(webhook=hook, event=event, payload=payload)
        for hook in Webhook.objects.filter(project_id__in=list(project_ids), active=True)
        if hook.wants(event)
    ]
    if deliveries:
        from defect_platform.core.tasks import deliver_webhook

        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: [deliver_webhook.delay(pk) for pk in ids])
    return deliveries


def attempt(delivery_id: int) -> float | None:
    """Try once. Returns the seconds to wait before the next try, or None when done."""
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    if delivery.status != WebhookDelivery.Status.PENDING:
        return None
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "defect-platform-webhooks",
        "X-Event": delivery.event,
        "X-Delivery": str(delivery.pk),
        "X-Signature-256": sign(delivery.webhook.secret, body),
    }
    delivery.attempts += 1
    try:
        response = requests.post(
            delivery.webhook.url, data=body, headers=headers, timeout=TIMEOUT_S
        )
        delivery.response_code = response.status_code
        ok = 200 <= response.status_code < 300
        delivery.error = "" if ok else f"HTTP {response.status_code}: {response.text[:200]}"
    except requests.RequestException as exc:
        ok, delivery.response_code = False, None
        delivery.error = f"{type(exc).__name__}: {exc}"[:500]
    if ok:
        delivery.status, delivery.delivered_at = WebhookDelivery.Status.DELIVERED, timezone.now()
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
    delivery.save()
    if delivery.status == WebhookDelivery.Status.PENDING:
        return float(2**delivery.attempts)
    return None
