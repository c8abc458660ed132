"""The API's throttles: the anonymous rate keyed by address, the user rate by signed-in user,
each request paying only for the throttle that can refuse it, in one Redis round trip."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from redis.client import Redis
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from marketplace.throttling import AnonymousRateThrottle, SignedInRateThrottle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/auth/me/"
PRODUCTS = "/api/v1/catalog/products/"


def _history(key: str) -> int:
    """The requests in a throttle history (a Redis sorted set)."""
    full = cache.make_and_validate_key(key)
    return cache._cache.get_client(full).zcard(full)


def _redis_commands(monkeypatch) -> list[str]:
    commands = []
    real = Redis.execute_command

    def execute_command(self, *args, **options):
        commands.append(args[0])
        return real(self, *args, **options)

    monkeypatch.setattr(Redis, "execute_command", execute_command)
    return commands


def test_an_anonymous_request_keeps_one_history_the_anonymous_one_in_one_round_trip(monkeypatch):
    assert APIClient().get(PRODUCTS).status_code == 200  # the script is loaded once per process
    commands = _redis_commands(monkeypatch)
    assert APIClient().get(PRODUCTS).status_code == 200
    assert commands == ["EVALSHA"]  # were a GET and a SET of a pickled history
    assert (_history("throttle_window_anon_127.0.0.1"), _history("throttle_window_user_127.0.0.1")) == (2, 0)


def test_a_signed_in_request_keeps_the_user_history_only():
    user = UserFactory()
    client = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert client.get(ME_URL).status_code == 200
    assert (_history(f"throttle_window_user_{user.pk}"), _history("throttle_window_anon_127.0.0.1")) == (1, 0)


def test_signed_in_callers_are_held_to_the_user_rate_over_a_sliding_window(monkeypatch):
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(SignedInRateThrottle, "rate", "2/min", raising=False)
    monkeypatch.setattr(SignedInRateThrottle, "timer", lambda self: clock.now)
    user = UserFactory()
    client = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}", HTTP_ACCEPT_LANGUAGE="en")
    assert [client.get(ME_URL).status_code for _ in range(2)] == [200, 200]
    clock.now = 1030.0
    refused = client.get(ME_URL)
    assert (refused.status_code, refused.json()["code"], refused["Retry-After"]) == (429, "throttled", "30")
    assert _history(f"throttle_window_user_{user.pk}") == 2  # a refused request is not counted
    assert APIClient().get(PRODUCTS).status_code == 200  # another caller: its own history
    clock.now = 1060.0  # the first two are exactly a minute old: out of the window
    assert [client.get(ME_URL).status_code for _ in range(3)] == [200, 200, 429]


def test_concurrent_requests_of_one_caller_are_let_through_exactly_up_to_the_rate(monkeypatch):
    # DRF's read-then-write history let two concurrent requests both see the same count.
    monkeypatch.setattr(SignedInRateThrottle, "rate", "5/min", raising=False)
    request = SimpleNamespace(user=SimpleNamespace(pk=424242, is_authenticated=True))

    def attempt(_):
        return SignedInRateThrottle().allow_request(request, None)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(attempt, range(40)))
    assert (answers.count(True), answers.count(False)) == (5, 35)
    assert _history("throttle_window_user_424242") == 5


def test_an_anonymous_caller_is_refused_past_the_anonymous_rate(monkeypatch):
    monkeypatch.setattr(AnonymousRateThrottle, "rate", "1/min", raising=False)
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    assert client.get(PRODUCTS).status_code == 200
    refused = client.get(PRODUCTS)
    assert (refused.status_code, refused.json()["code"]) == (429, "throttled")
    assert _history("throttle_window_anon_127.0.0.1") == 1
