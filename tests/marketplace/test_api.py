import pytest
from django.urls import path
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.errors import DomainError, InvalidTransition
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
ME_URL = "/api/v1/auth/me/"


def test_token_for_good_credentials_authenticates_requests(api_client):
    user = UserFactory(email="li.na@example.com", first_name="Na", last_name="Li")
    response = api_client.post(TOKEN_URL, {"email": "Li.Na@Example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=user).key}

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    me = api_client.get(ME_URL)
    assert me.status_code == 200
    assert me.json() == {
        "id": user.pk,
        "email": "li.na@example.com",
        "first_name": "Na",
        "last_name": "Li",
        "phone": "",
        "is_staff": False,
        "groups": [],
    }


def test_token_is_stable_across_logins(api_client):
    UserFactory(email="a@example.com")
    first = api_client.post(TOKEN_URL, {"email": "a@example.com", "password": PASSWORD}, format="json").json()
    second = api_client.post(TOKEN_URL, {"email": "a@example.com", "password": PASSWORD}, format="json").json()
    assert first == second
    assert Token.objects.count() == 1


def test_wrong_password_is_refused_with_a_stable_code(api_client):
    UserFactory(email="a@example.com")
    response = api_client.post(
        TOKEN_URL, {"email": "a@example.com", "password": "wrong"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_credentials", "message": "Email or password is incorrect.", "extra": {}}
    assert Token.objects.count() == 0


def test_missing_fields_answer_validation_error(api_client):
    response = api_client.post(TOKEN_URL, {"email": "not-an-email"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["extra"]["fields"]) == {"email", "password"}


def test_repeated_failures_lock_the_account_out(api_client):
    UserFactory(email="a@example.com")
    for _ in range(5):
        api_client.post(TOKEN_URL, {"email": "a@example.com", "password": "wrong"}, format="json")
    # Even the right password is refused while locked out.
    response = api_client.post(TOKEN_URL, {"email": "a@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "account_locked"
    assert Token.objects.count() == 0


def test_bad_token_and_no_token(api_client):
    assert api_client.get(ME_URL).status_code == 401
    assert api_client.get(ME_URL).json()["code"] == "not_authenticated"
    api_client.credentials(HTTP_AUTHORIZATION="Token nope")
    response = api_client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


class _Conflict(APIView):
    permission_classes = []

    def get(self, request):
        raise InvalidTransition(message="Cannot ship a cancelled order.", extra={"status": "cancelled"})


class _BadInput(APIView):
    permission_classes = []

    def get(self, request):
        raise DomainError("bad_thing", "That is bad.")


class _Ok(APIView):
    permission_classes = []

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("conflict/", _Conflict.as_view()),
    path("bad/", _BadInput.as_view()),
    path("ok/", _Ok.as_view()),
]


@pytest.mark.urls(__name__)
def test_domain_errors_map_to_400_and_409(api_client):
    conflict = api_client.get("/conflict/")
    assert conflict.status_code == 409
    assert conflict.json() == {
        "code": "invalid_transition",
        "message": "Cannot ship a cancelled order.",
        "extra": {"status": "cancelled"},
    }
    bad = api_client.get("/bad/")
    assert bad.status_code == 400
    assert bad.json() == {"code": "bad_thing", "message": "That is bad.", "extra": {}}
    assert api_client.get("/ok/").json() == {"ok": True}
