"""Token authentication (marketplace.authentication): DRF's answers, from one statement
written once per process."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from marketplace.authentication import TokenAuthentication
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/auth/me/"


def _client(header: str) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=header, HTTP_ACCEPT_LANGUAGE="en")


def test_a_token_authenticates_its_user_with_one_statement():
    user = UserFactory(email="buyer@example.com")
    token = Token.objects.create(user=user)
    with CaptureQueriesContext(connection) as queries:
        found, auth = TokenAuthentication().authenticate_credentials(token.key)
    assert len(queries) == 1
    assert (found.pk, found.email, found.is_active) == (user.pk, "buyer@example.com", True)
    assert (auth.pk, auth.key, auth.user_id, auth.created, auth.user is found) == (
        token.key,
        token.key,
        user.pk,
        token.created,
        True,
    )
    assert auth._state.adding is False
    answer = _client(f"Token {token.key}").get(ME_URL)
    assert (answer.status_code, answer.json()["email"]) == (200, "buyer@example.com")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Token 0123456789abcdef0123456789abcdef01234567", "Invalid token."),
        ("Token", "Invalid token header. No credentials provided."),
        ("Token a b", "Invalid token header. Token string should not contain spaces."),
    ],
)
def test_a_wrong_token_is_refused_as_drf_refuses_it(header, message):
    answer = _client(header).get(ME_URL)
    assert (answer.status_code, answer.json()["message"], answer["WWW-Authenticate"]) == (401, message, "Token")


def test_the_token_of_an_inactive_user_is_refused():
    token = Token.objects.create(user=UserFactory(is_active=False))
    answer = _client(f"Token {token.key}").get(ME_URL)
    assert (answer.status_code, answer.json()["message"]) == (401, "User inactive or deleted.")


def test_a_token_of_another_user_is_that_users_only():
    mine, theirs = UserFactory(), UserFactory()
    Token.objects.create(user=theirs)
    token = Token.objects.create(user=mine)
    found, _auth = TokenAuthentication().authenticate_credentials(token.key)
    assert found.pk == mine.pk
