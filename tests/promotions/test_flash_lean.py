"""The flash-sale admission through the lean WSGI handler (marketplace/lean.py): which requests
it takes, the same answers as the API's DRF view for success and every refusal, the headers
kept, bad input answered 4xx, a burst through it, and a revoked token refused at once."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token

from marketplace import lean
from marketplace.wsgi import application
from promotions import flash_redis
from promotions.api import flash as api_flash
from promotions.api import flash_tokens, lean_urls
from promotions.models import FlashReservation
from promotions.services import flash
from tests.factories import UserFactory
from tests.lean_support import COMPARED, Answer, api, same, wsgi
from tests.promotions.flash_factories import _flash_redis_clean, live_sale  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


def path_of(sale_id) -> str:
    return f"/api/v1/promotions/flash-sales/{sale_id}/admit/"


def environ(path: str, *, body=b"{}", content_type="application/json", token=None, authorization=None, method="POST"):
    headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    if authorization is not None:
        headers["HTTP_AUTHORIZATION"] = authorization
    factory = RequestFactory()
    if method == "POST":
        return factory.post(path, body, content_type=content_type, **headers).environ
    return factory.generic(method, path, **headers).environ


def both(**request) -> tuple[Answer, object]:
    """(lean answer, API answer) to the same request: call only for answers that change nothing."""
    path = request.pop("path")
    return wsgi(environ(path, **request)), api(environ(path, **request))


def new_token(user=None) -> str:
    return Token.objects.create(user=user or UserFactory()).key


def served_lean(environ_: dict) -> bool:
    return lean_urls.takes(environ_)


# --- Which requests the lean handler takes ------------------------------------------------------


def test_the_lean_route_is_the_apis_admission_route():
    assert path_of(7) == reverse("flash-sale-admit", kwargs={"pk": 7})
    assert reverse("flash-sale-admit-lean", urlconf=lean_urls.__name__, kwargs={"pk": 7}) == path_of(7)


def test_it_takes_only_token_authenticated_posts_to_the_admission():
    assert served_lean(environ(path_of(7), token="abc"))
    assert served_lean(environ(path_of(7), authorization="token abc"))  # any case, as DRF
    assert not served_lean(environ(path_of(7)))  # anonymous or a session: the full stack
    assert not served_lean(environ(path_of(7), authorization="Bearer abc"))
    assert not served_lean(environ(path_of(7), token="abc", method="GET"))
    assert not served_lean(environ(path_of(7), token="abc", method="OPTIONS"))
    assert not served_lean(environ(path_of("x7"), token="abc"))
    assert not served_lean(environ(path_of(7) + "x", token="abc"))
    assert not served_lean(environ("/api/v1/promotions/flash-sales/7%00/admit/", token="abc"))
    assert not served_lean(environ("/api/v1/promotions/flash-sales/", token="abc"))


def test_the_lean_handler_keeps_the_security_middleware_and_skips_the_session_ones():
    kept = lean.lean_middleware()
    assert "django.middleware.security.SecurityMiddleware" in kept
    assert "csp.middleware.CSPMiddleware" in kept
    assert "django.middleware.clickjacking.XFrameOptionsMiddleware" in kept
    assert "django.middleware.locale.LocaleMiddleware" in kept
    assert "marketplace.middleware.ServerBusyMiddleware" in kept
    assert not set(kept) & lean.SKIPPED
    from django.conf import settings

    assert kept == [m for m in settings.MIDDLEWARE if m in kept]  # the project's order
    assert len(settings.MIDDLEWARE) == len(kept) + len(lean.SKIPPED)


# --- The same answers as the API ----------------------------------------------------------------


def test_an_admission_through_the_lean_path_answers_as_the_api(settings):
    settings.FLASH_SALE_HOLD_MINUTES = 5
    sale, twin = live_sale(quantity=3, limit=2), live_sale(quantity=3, limit=2)
    token = new_token()
    with CaptureQueriesContext(connection) as queries:
        answer = wsgi(environ(path_of(sale.pk), body=b'{"quantity": 2}', token=token))
    assert answer.status_code == 201
    reservation = FlashReservation.objects.get(sale=sale)
    assert answer.json() == {
        "reservation": reservation.pk,
        "sale": sale.pk,
        "sku": sale.sku_id,
        "units": 2,
        "expires_at": answer.json()["expires_at"],
    }
    assert (reservation.buyer.auth_token.key, reservation.units) == (token, 2)
    assert len(queries) > 0  # the token read once, the reservation written
    through_api = api(environ(path_of(twin.pk), body=b'{"quantity": 2}', token=token))
    assert through_api.status_code == 201
    other = FlashReservation.objects.get(sale=twin)
    # The same body but for the ids and the time (same keys, same rendering); the same headers.
    assert list(answer.json()) == list(through_api.json())
    assert through_api.json()["units"] == other.units == 2
    lean_time, api_time = answer.json()["expires_at"], through_api.json()["expires_at"]
    assert (len(lean_time), lean_time[-6:]) == (len(api_time), api_time[-6:])
    for body in (answer.content, through_api.content):
        assert body == json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
    assert {n: answer.headers.get(n) for n in COMPARED} == {n: through_api.headers.get(n) for n in COMPARED}
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in answer.headers
    assert answer.headers["Content-Language"] == "en"


def test_every_refusal_is_the_apis_answer_and_changes_nothing():
    sale = live_sale(quantity=3, limit=2)
    buyer_token, other_token = new_token(), new_token()
    assert wsgi(environ(path_of(sale.pk), body=b'{"quantity": 2}', token=buyer_token)).status_code == 201
    staff_user = UserFactory(is_staff=True)
    staff_user.groups.add(*Group.objects.filter(name="operations"))
    inactive = new_token(UserFactory(is_active=False))
    upcoming = live_sale(starts_in=timedelta(hours=1))
    ended = live_sale(starts_in=timedelta(hours=-3), lasts=timedelta(hours=1))
    paused = live_sale()
    flash.flash_sale_set_paused(sale=paused, paused=True, actor=paused.merchant.owner)
    cases = {
        # code (or status) expected: the request
        "limit_reached": {"path": path_of(sale.pk), "token": buyer_token},
        "sold_out": {"path": path_of(sale.pk), "token": other_token, "body": b'{"quantity": 2}'},
        "not_started": {"path": path_of(upcoming.pk), "token": other_token},
        "ended": {"path": path_of(ended.pk), "token": other_token},
        "paused": {"path": path_of(paused.pk), "token": other_token},
        "not_found": {"path": path_of(987654), "token": other_token},
        "staff": {"path": path_of(sale.pk), "token": new_token(staff_user)},
        "bad token": {"path": path_of(sale.pk), "token": "not-a-token"},
        "NUL in token": {"path": path_of(sale.pk), "token": "abc\x00def"},
        "no key": {"path": path_of(sale.pk), "authorization": "Token"},
        "inactive": {"path": path_of(sale.pk), "token": inactive},
        "zero": {"path": path_of(sale.pk), "token": other_token, "body": b'{"quantity": 0}'},
        "too many": {"path": path_of(sale.pk), "token": other_token, "body": b'{"quantity": 101}'},
        "true": {"path": path_of(sale.pk), "token": other_token, "body": b'{"quantity": true}'},
        "string": {"path": path_of(sale.pk), "token": other_token, "body": b'{"quantity": "2"}'},
        "NUL in body": {"path": path_of(sale.pk), "token": other_token, "body": b'{"quantity": "\\u0000"}'},
        "raw NUL": {"path": path_of(sale.pk), "token": other_token, "body": b'{"quantity": 1\x00}'},
        "bad JSON": {"path": path_of(sale.pk), "token": other_token, "body": b'{"quantity":'},
        "a list": {"path": path_of(sale.pk), "token": other_token, "body": b"[1]"},
        "deep": {"path": path_of(sale.pk), "token": other_token, "body": b"[" * 5000},
        "unknown field": {"path": path_of(sale.pk), "token": other_token, "body": b'{"quantity": 2, "x": 1}'},
        "form": {
            "path": path_of(sale.pk),
            "token": other_token,
            "body": "quantity=2",
            "content_type": "application/x-www-form-urlencoded",
        },
        "text": {"path": path_of(sale.pk), "token": other_token, "body": b"2", "content_type": "text/plain"},
    }
    answers = {}
    for name, request in cases.items():
        lean_answer, api_answer = both(**request)
        same(lean_answer, api_answer)
        answers[name] = (lean_answer.status_code, lean_answer.json()["code"])
    assert answers == {
        "limit_reached": (409, "limit_reached"),
        "sold_out": (409, "sold_out"),
        "not_started": (409, "not_started"),
        "ended": (409, "ended"),
        "paused": (409, "paused"),
        "not_found": (404, "not_found"),
        "staff": (404, "not_found"),
        "bad token": (401, "authentication_failed"),
        "NUL in token": (401, "authentication_failed"),
        "no key": (401, "authentication_failed"),
        "inactive": (401, "authentication_failed"),
        "zero": (400, "validation_error"),
        "too many": (400, "validation_error"),
        "true": (400, "validation_error"),
        "string": (409, "sold_out"),
        "NUL in body": (400, "validation_error"),
        "raw NUL": (400, "parse_error"),
        "bad JSON": (400, "parse_error"),
        "a list": (400, "validation_error"),
        "deep": (400, "parse_error"),
        "unknown field": (409, "sold_out"),
        "form": (409, "sold_out"),
        "text": (415, "unsupported_media_type"),
    }
    assert wsgi(environ(path_of(sale.pk), token="not-a-token")).headers["WWW-Authenticate"] == "Token"
    # Nothing changed: the one reservation of the first buyer, 1 unit left.
    assert FlashReservation.objects.count() == 1
    assert flash_redis.snapshot(sale.pk)["remaining"] == "1"


def test_without_a_token_the_full_stack_answers():
    sale = live_sale()
    anonymous = wsgi(environ(path_of(sale.pk)))
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
    assert wsgi(environ(path_of("x1"), token="abc")).status_code == 404
    assert wsgi(environ(path_of(sale.pk), token="abc", method="GET")).status_code == 405
    assert FlashReservation.objects.count() == 0


def test_messages_follow_the_callers_language():
    sale = live_sale(quantity=1)
    assert wsgi(environ(path_of(sale.pk), token=new_token())).status_code == 201
    token = new_token()
    zh = environ(path_of(sale.pk), token=token)
    zh["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    lean_answer = wsgi(zh)
    zh = environ(path_of(sale.pk), token=token)
    zh["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    same(lean_answer, api(zh))
    assert (lean_answer.status_code, lean_answer.headers["Content-Language"]) == (409, "zh-hans")


def test_a_refusal_with_a_known_token_asks_the_database_nothing():
    sale = live_sale(quantity=1)
    assert wsgi(environ(path_of(sale.pk), token=new_token())).status_code == 201
    token = new_token()
    assert wsgi(environ(path_of(sale.pk), token=token)).status_code == 409  # the token now cached
    with CaptureQueriesContext(connection) as queries:
        answer = wsgi(environ(path_of(sale.pk), token=token))
    assert (answer.status_code, answer.json()["code"]) == (409, "sold_out")
    assert [q["sql"] for q in queries] == []


def test_a_database_wait_bound_answers_503_and_holds_nothing():
    sale = live_sale(quantity=2)
    from django.db import OperationalError
    from psycopg import errors as pg_errors

    busy = OperationalError("lock timeout")
    busy.__cause__ = pg_errors.LockNotAvailable()
    with mock.patch.object(flash, "_hold", side_effect=busy):
        answer = wsgi(environ(path_of(sale.pk), token=new_token()))
    assert (answer.status_code, answer.json()["code"], answer.headers["Retry-After"]) == (503, "server_busy", "1")
    assert FlashReservation.objects.count() == 0
    assert flash_redis.snapshot(sale.pk)["remaining"] == "2"  # the unit given back


# --- A burst through the lean handler -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_burst_through_the_lean_handler_admits_exactly_the_units():
    sale = live_sale(quantity=5, limit=1)
    tokens = [new_token() for _ in range(30)]
    answers: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(tokens))

    def buyer(token: str) -> None:
        try:
            barrier.wait()
            started = {}

            def start_response(status, headers, exc_info=None):
                started["status"] = status

            chunks = application(environ(path_of(sale.pk), token=token), start_response)
            body = b"".join(chunks)
            chunks.close()
            answers.append((int(started["status"][:3]), json.loads(body).get("code", "")))
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=buyer, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(answers) == [(201, "")] * 5 + [(409, "sold_out")] * 25
    assert FlashReservation.objects.filter(sale=sale).count() == 5
    assert flash_redis.snapshot(sale.pk)["remaining"] == "0"


# --- Revoked tokens -----------------------------------------------------------------------------


def refused_with(token: str, sale_id: int) -> tuple[int, str]:
    answer = wsgi(environ(path_of(sale_id), token=token))
    return answer.status_code, answer.json()["code"]


def test_a_deleted_token_is_refused_at_once_on_both_paths(django_capture_on_commit_callbacks):
    sale = live_sale(quantity=1)
    assert wsgi(environ(path_of(sale.pk), token=new_token())).status_code == 201
    token = Token.objects.create(user=UserFactory())
    assert refused_with(token.key, sale.pk) == (409, "sold_out")  # cached now
    assert cache.get(flash_tokens.token_cache_key(token.key)) == (token.user_id, False)
    key = token.key
    with django_capture_on_commit_callbacks(execute=True):
        token.delete()
    assert refused_with(key, sale.pk) == (401, "authentication_failed")
    assert api(environ(path_of(sale.pk), token=key)).status_code == 401


def test_a_rotated_token_is_refused_and_the_new_one_admits(django_capture_on_commit_callbacks):
    sale = live_sale(quantity=1)
    user = UserFactory()
    old = Token.objects.create(user=user)
    assert refused_with(old.key, live_sale(starts_in=timedelta(hours=1)).pk) == (409, "not_started")
    with django_capture_on_commit_callbacks(execute=True):
        Token.objects.filter(user=user).delete()  # a queryset delete, then a new key
        new = Token.objects.create(user=user)
    assert refused_with(old.key, sale.pk) == (401, "authentication_failed")
    assert wsgi(environ(path_of(sale.pk), token=new.key)).status_code == 201


def test_a_deactivated_user_or_one_made_staff_is_refused_at_once(django_capture_on_commit_callbacks):
    sale = live_sale(quantity=1)
    assert wsgi(environ(path_of(sale.pk), token=new_token())).status_code == 201
    leaving, promoted = UserFactory(), UserFactory()
    leaving_token, promoted_token = new_token(leaving), new_token(promoted)
    assert refused_with(leaving_token, sale.pk) == (409, "sold_out")
    assert refused_with(promoted_token, sale.pk) == (409, "sold_out")
    with django_capture_on_commit_callbacks(execute=True):
        leaving.is_active = False
        leaving.save()
        promoted.is_staff = True
        promoted.save()
    assert refused_with(leaving_token, sale.pk) == (401, "authentication_failed")
    assert refused_with(promoted_token, sale.pk) == (404, "not_found")


def test_a_login_asks_nothing_and_keeps_the_entry(django_assert_num_queries):
    user = UserFactory()
    token = new_token(user)
    cache.set(flash_tokens.token_cache_key(token), (user.pk, False), 60)
    with django_assert_num_queries(1):  # the UPDATE of last_login only
        from django.contrib.auth.models import update_last_login

        update_last_login(None, user)
    assert cache.get(flash_tokens.token_cache_key(token)) == (user.pk, False)


def test_a_revocation_inside_a_transaction_applies_when_it_commits(django_capture_on_commit_callbacks):
    user = UserFactory()
    token = Token.objects.create(user=user)
    cache.set(flash_tokens.token_cache_key(token.key), (user.pk, False), 60)
    key = token.key
    with django_capture_on_commit_callbacks(execute=True):
        token.delete()
        assert cache.get(flash_tokens.token_cache_key(key)) == (user.pk, False)  # not yet committed
    assert cache.get(flash_tokens.token_cache_key(key)) == flash_tokens.REVOKED


def test_an_authentication_that_read_the_token_before_its_revocation_cannot_cache_it(
    django_capture_on_commit_callbacks,
):
    flash_tokens.local.ensure_listening()
    assert wait_for(lambda: flash_tokens.local.listening)
    user = UserFactory()
    token = Token.objects.create(user=user)
    key = token.key

    def read_then_revoked(self, key):
        # The token read (valid), then its revocation commits before the entries are written.
        with django_capture_on_commit_callbacks(execute=True):
            Token.objects.filter(key=key).delete()
        return user, token

    with mock.patch("marketplace.authentication.TokenAuthentication.authenticate_credentials", read_then_revoked):
        api_flash.CachedTokenAuthentication().authenticate_credentials(key)
    assert cache.get(flash_tokens.token_cache_key(key)) == flash_tokens.REVOKED
    assert flash_tokens.local.get(flash_tokens.token_digest(key)) is None
    assert refused_with(key, live_sale().pk) == (401, "authentication_failed")


def wait_for(condition, seconds: float = 20.0) -> bool:
    """Poll `condition` (an event another thread brings about), giving up after `seconds`."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_another_processs_copy_is_dropped_when_the_revocation_is_published(django_capture_on_commit_callbacks):
    # Another worker: a LocalTokens of its own, with its own listener.
    other = flash_tokens.LocalTokens()
    other.ensure_listening()
    assert wait_for(lambda: other.listening)
    token = Token.objects.create(user=UserFactory())
    key, digest = token.key, flash_tokens.token_digest(token.key)
    other.put(digest, (token.user_id, False), other.epoch)
    assert other.get(digest) == (token.user_id, False)
    with django_capture_on_commit_callbacks(execute=True):
        token.delete()
    assert wait_for(lambda: other.get(digest) is None)
    assert digest not in other.entries
    assert cache.get(flash_tokens.token_cache_key(key)) == flash_tokens.REVOKED


def test_a_copy_is_not_made_when_a_revocation_arrived_during_the_read():
    copies = flash_tokens.LocalTokens()
    copies.listening = True
    epoch = copies.epoch
    copies.drop("another token")  # a revocation received while this admission read the entry
    copies.put("digest", (1, False), epoch)
    assert copies.get("digest") is None
    copies.put("digest", (1, False), copies.epoch)
    assert copies.get("digest") == (1, False)
    copies._subscribed(False)  # the subscription lost: no copy is used or kept
    assert (copies.get("digest"), copies.entries) == (None, {})


def test_a_known_token_asks_not_even_redis_in_the_same_process():
    sale = live_sale(quantity=1)
    assert wsgi(environ(path_of(sale.pk), token=new_token())).status_code == 201
    flash_tokens.local.ensure_listening()
    assert wait_for(lambda: flash_tokens.local.listening)
    token = new_token()
    assert refused_with(token, sale.pk) == (409, "sold_out")  # the copy made
    with mock.patch.object(cache, "get", side_effect=AssertionError("asked the shared cache")):
        assert refused_with(token, sale.pk) == (409, "sold_out")
    flash_tokens.local.entries.clear()  # without the copy, the shared cache is asked
    with mock.patch.object(cache, "get", side_effect=AssertionError("asked the shared cache")):
        assert wsgi(environ(path_of(sale.pk), token=token)).status_code == 500


def test_an_unexpected_error_answers_the_projects_500(settings):
    sale = live_sale()
    with mock.patch.object(flash, "flash_sale_admit", side_effect=RuntimeError("bug")):
        lean_answer = wsgi(environ(path_of(sale.pk), token=new_token()))
    api_client = Client(raise_request_exception=False)
    with mock.patch.object(flash, "flash_sale_admit", side_effect=RuntimeError("bug")):
        api_answer = api_client.post(
            path_of(sale.pk),
            b"{}",
            "application/json",
            HTTP_AUTHORIZATION=f"Token {new_token()}",
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert lean_answer.status_code == api_answer.status_code == 500
    assert lean_answer.content == api_answer.content
    assert FlashReservation.objects.count() == 0


def test_a_merchant_is_a_buyer_here_as_in_the_api():
    # The current rule: any signed-in user but staff may join, the sale's own merchant too.
    sale, twin = live_sale(quantity=1), live_sale(quantity=1)
    owner_token = new_token(sale.merchant.owner)
    lean_answer = wsgi(environ(path_of(sale.pk), token=owner_token))
    api_answer = api(environ(path_of(twin.pk), token=new_token(twin.merchant.owner)))
    assert (lean_answer.status_code, api_answer.status_code) == (201, 201)
    lean_answer, api_answer = both(path=path_of(sale.pk), token=owner_token)
    same(lean_answer, api_answer)
    assert (lean_answer.status_code, lean_answer.json()["code"]) == (409, "limit_reached")
    assert FlashReservation.objects.count() == 2
