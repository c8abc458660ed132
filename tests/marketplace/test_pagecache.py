"""The kernel's page cache (marketplace.pagecache): generations bumped only after commit,
nothing when the cache is off, and Redis trouble never turns a page or a change into a 500."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from marketplace import pagecache

pytestmark = pytest.mark.django_db(transaction=True)  # real commits


def _token(name: str):
    return cache.get(f"pc:gen:{name}")


def test_a_bump_replaces_the_token_after_commit_only():
    cache.set("pc:gen:product:1", "before", timeout=None)
    with transaction.atomic():
        pagecache.bump(["product:1"])
        assert _token("product:1") == "before"
    assert _token("product:1") not in (None, "before")


def test_a_rolled_back_bump_changes_nothing():
    cache.set("pc:gen:product:1", "before", timeout=None)
    with pytest.raises(RuntimeError), transaction.atomic():
        pagecache.bump(["product:1"])
        raise RuntimeError
    assert _token("product:1") == "before"


def test_nothing_is_bumped_while_the_cache_is_off(settings):
    settings.PAGE_CACHE_TTL = 0
    pagecache.invalidate_all()
    assert _token(pagecache.ALL) is None


def test_redis_down_when_bumping_is_logged_not_raised(monkeypatch, caplog):
    def down(*args, **kwargs):
        raise RedisConnectionError("down")

    monkeypatch.setattr(cache, "set_many", down)
    with transaction.atomic():
        pagecache.invalidate_all()
    assert "not bumped" in caplog.text


def _view():
    calls = []

    @pagecache.cached_page(lambda request: ["thing"])
    def view(request):
        calls.append(1)
        return HttpResponse(f"page {len(calls)}")

    return view, calls


def _get(view, **extra):
    request = RequestFactory().get("/thing/", **extra)
    request.session = type("S", (), {"modified": False})()
    return view(request)


def test_a_page_is_served_until_its_generation_is_bumped():
    view, calls = _view()
    assert _get(view).content == b"page 1"
    assert _get(view).content == b"page 1"
    pagecache.bump(["thing"])  # outside a transaction: at once
    assert _get(view).content == b"page 2"
    assert len(calls) == 2


def test_a_generation_missing_from_the_cache_counts_as_changed():
    view, _calls = _view()
    _get(view)
    cache.delete("pc:gen:thing")  # evicted
    assert _get(view).content == b"page 2"


def test_a_request_with_a_session_or_messages_cookie_or_a_token_is_never_cached(settings):
    view, calls = _view()
    _get(view, HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}=abc")
    _get(view, HTTP_COOKIE="messages=abc")
    _get(view, HTTP_AUTHORIZATION="Token abc")
    assert len(calls) == 3
    _get(view)  # anonymous: fills
    _get(view, HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}=abc")  # not served the cached page
    assert len(calls) == 5
    assert _get(view, HTTP_COOKIE="csrftoken=abc").content == b"page 4"  # anonymous: a hit


def test_a_response_that_sets_a_cookie_is_not_stored():
    calls = []

    @pagecache.cached_page(lambda request: [])
    def view(request):
        calls.append(1)
        response = HttpResponse("hello")
        response.set_cookie("seen", "1")
        return response

    _get(view)
    _get(view)
    assert len(calls) == 2


def test_redis_down_when_reading_renders_the_page(monkeypatch):
    def down(*args, **kwargs):
        raise RedisConnectionError("down")

    view, _calls = _view()
    monkeypatch.setattr(cache, "get_many", down)
    assert _get(view).content == b"page 1"
    assert _get(view).content == b"page 2"


def test_a_streaming_response_passes_through_unstored():
    from django.http import StreamingHttpResponse

    calls = []

    @pagecache.cached_page(lambda request: [])
    def view(request):
        calls.append(1)
        return StreamingHttpResponse(iter([b"a", b"b"]))

    assert b"".join(_get(view).streaming_content) == b"ab"
    _get(view)
    assert len(calls) == 2
