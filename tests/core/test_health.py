import time

import pytest
from django.test import Client


@pytest.mark.django_db
def test_healthz_answers_without_login():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_everything_is_reachable(settings, tmp_path):
    folder = tmp_path / "broker"
    folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_out": str(folder)}
    response = Client().get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_readyz_names_an_unreachable_broker_quickly(settings):
    from defect_platform.celery import app

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    started = time.monotonic()
    try:
        response = Client().get("/readyz")
    finally:
        app.conf.broker_url = None
    assert time.monotonic() - started < 8
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


@pytest.mark.django_db
def test_readyz_names_an_unreachable_channel_layer(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert "channel_layer" in response.json()["failing"]


@pytest.mark.django_db
def test_metrics_are_prometheus_text(client_for, owner):
    Client().get("/healthz")
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "# TYPE defect_http_requests_total counter" in text
    assert 'defect_http_requests_total{method="GET",status="2xx"}' in text
    assert "# TYPE defect_inspections_total counter" in text
