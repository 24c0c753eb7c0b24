"""The token exchange and the inspect API answer 429 with Retry-After past their rates."""

import pytest
from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle


@pytest.fixture
def low_rates(monkeypatch):
    # DRF reads the rates once into the class; patching the class is the supported override.
    monkeypatch.setattr(
        ScopedRateThrottle, "THROTTLE_RATES", {"token": "3/min", "inspect": "2/min"}
    )
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_token_exchange_is_throttled(client, make_user, low_rates):
    make_user("gate")
    codes = [
        client.post("/api/auth/token/", {"username": "gate", "password": "wrong"}).status_code
        for _ in range(4)
    ]
    assert codes[:3] == [401, 401, 401]
    refused = client.post("/api/auth/token/", {"username": "gate", "password": "wrong"})
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()


@pytest.mark.django_db
def test_inspect_is_throttled_per_user(client_for, make_user, project, low_rates):
    engineer = client_for(make_user("eng", "engineer", project))
    codes = [engineer.post("/api/inspect/", {"project": project.pk}).status_code for _ in range(3)]
    assert codes[:2] == [400, 400]  # no image: refused for the request, still counted
    assert codes[2] == 429
    # Another user has their own budget.
    other = client_for(make_user("eng2", "engineer", project))
    assert other.post("/api/inspect/", {"project": project.pk}).status_code == 400
