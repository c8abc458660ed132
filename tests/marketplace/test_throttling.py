"""The API's throttles: the anonymous rate keyed by address, the user rate by signed-in user,
each request paying only for the throttle that can refuse it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from marketplace.throttling import SignedInRateThrottle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/auth/me/"
PRODUCTS = "/api/v1/catalog/products/"


def _cache_calls(monkeypatch) -> list[str]:
    calls = []
    for name in ("get", "set"):
        real = getattr(cache, name)
        monkeypatch.setattr(
            cache, name, lambda *a, _real=real, _name=name, **k: (calls.append(_name), _real(*a, **k))[1]
        )
    return calls


def test_an_anonymous_request_keeps_one_history_the_anonymous_one(monkeypatch):
    calls = _cache_calls(monkeypatch)
    assert APIClient().get(PRODUCTS).status_code == 200
    assert calls == ["get", "set"]  # 2 Redis round trips (were 4: the user throttle keyed it by address too)
    assert (len(cache.get("throttle_anon_127.0.0.1")), cache.get("throttle_user_127.0.0.1")) == (1, None)


def test_a_signed_in_request_keeps_the_user_history_only():
    user = UserFactory()
    client = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert client.get(ME_URL).status_code == 200
    assert (len(cache.get(f"throttle_user_{user.pk}")), cache.get("throttle_anon_127.0.0.1")) == (1, None)


def test_signed_in_callers_are_still_held_to_the_user_rate(monkeypatch):
    monkeypatch.setattr(SignedInRateThrottle, "rate", "2/min", raising=False)
    user = UserFactory()
    client = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert [client.get(ME_URL).status_code for _ in range(2)] == [200, 200]
    refused = client.get(ME_URL)
    assert (refused.status_code, refused.json()["code"]) == (429, "throttled")
    assert APIClient().get(PRODUCTS).status_code == 200  # another caller: its own history
