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


# --- Found by the Schemathesis guard rail (tests/e2e/test_api_schemathesis.py) ------------------


@pytest.mark.parametrize("method", ["put", "delete", "trace"])
@pytest.mark.parametrize("who", ["anonymous", "buyer", "staff"])
def test_a_method_the_route_does_not_have_is_405_whoever_asks(api_client, method, who):
    # The merchant's product list hides itself (404) from non-merchants and asks anonymous
    # callers to sign in (401); a method it does not have is still 405 for all of them.
    if who != "anonymous":
        api_client.force_authenticate(UserFactory(is_staff=who == "staff"))
    response = api_client.generic(method.upper(), "/api/v1/catalog/merchant/products/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response.json()["extra"] == {}
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"


def test_the_callers_check_still_comes_first_for_a_method_the_route_has(api_client):
    assert api_client.get("/api/v1/catalog/merchant/products/").status_code == 401
    api_client.force_authenticate(UserFactory())
    assert api_client.get("/api/v1/catalog/merchant/products/").status_code == 404


@pytest.mark.parametrize("page_size", ["abc", "0", "-1", "1.5", "٣"])
def test_a_page_size_that_is_not_a_positive_whole_number_is_refused(api_client, page_size):
    response = api_client.get("/api/v1/catalog/products/", {"page_size": page_size}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json() == {
        "code": "validation_error",
        "message": "The request has invalid fields.",
        "extra": {"fields": {"page_size": ["Enter a whole number, 1 or more."]}},
    }


@pytest.mark.parametrize(("page_size", "expected"), [("", 20), ("3", 3), ("100", 100), ("5000", 100)])
def test_page_size_empty_means_the_default_and_large_ones_are_capped(page_size, expected):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from marketplace.api import DefaultPagination

    request = Request(APIRequestFactory().get("/", {"page_size": page_size}))
    assert DefaultPagination().get_page_size(request) == expected


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(1001))),
        (
            "multipart/form-data; boundary=BOUNDARY",
            "".join(f'--BOUNDARY\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n1\r\n' for i in range(1001))
            + "--BOUNDARY--\r\n",
        ),
    ],
)
def test_a_body_over_djangos_field_limit_is_a_json_400(api_client, content_type, body, caplog):
    # Found by Schemathesis: Django's TooManyFieldsSent escaped DRF and answered an HTML page.
    response = api_client.generic("POST", TOKEN_URL, body, content_type=content_type, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "parse_error",
        "message": "The request has too many fields or is too large.",
        "extra": {},
    }
    assert Token.objects.count() == 0
    # Still logged where Django logs suspicious requests.
    assert [r.name for r in caplog.records if r.name.startswith("django.security")] == [
        "django.security.TooManyFieldsSent"
    ]
