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


# --- Visitors with a session (`sessions=`) -------------------------------------------------------


def _session_get(view, name: str | None):
    """A GET with a session cookie whose session holds `name` (None: an anonymous visitor
    without a session cookie), loaded as the session middleware would (not yet read)."""
    from django.contrib.messages.storage import default_storage
    from django.contrib.sessions.backends.db import SessionStore

    request = RequestFactory().get("/thing/", **({} if name is None else {"HTTP_COOKIE": "sessionid=abc"}))
    request.session = SessionStore()
    request.session._session_cache = {} if name is None else {"name": name}
    request._messages = default_storage(request)
    return view(request), request


def _reading_view(sessions):
    calls = []

    @pagecache.cached_page(lambda request: ["thing"], sessions=sessions)
    def view(request):
        calls.append(1)
        return HttpResponse(f"hello {request.session.get('name', 'nobody')}")

    return view, calls


def test_a_page_whose_main_part_read_the_session_is_never_served_to_another_session():
    view, calls = _reading_view(pagecache.HOLES)
    assert _session_get(view, "ann")[0].content == b"hello ann"
    assert _session_get(view, "ann")[0].content == b"hello ann"
    assert len(calls) == 2  # a visitor's own page is never stored
    assert _session_get(view, None)[0].content == b"hello nobody"  # stored for anonymous visitors only
    assert _session_get(view, None)[0].content == b"hello nobody"
    assert len(calls) == 3
    assert _session_get(view, "bob")[0].content == b"hello bob"
    assert len(calls) == 4


def test_a_visitor_with_a_session_is_rendered_as_usual_by_default():
    view, calls = _reading_view(pagecache.RENDER)
    _session_get(view, None)
    assert _session_get(view, None)[0].content == b"hello nobody"
    assert _session_get(view, "ann")[0].content == b"hello ann"
    assert len(calls) == 2


def test_an_answer_the_same_for_everyone_is_served_to_a_session_without_reading_it():
    calls = []

    @pagecache.cached_page(lambda request: ["thing"], sessions=pagecache.SAME)
    def view(request):
        calls.append(1)
        return HttpResponse(f"page {len(calls)}")

    assert _session_get(view, "ann")[0].content == b"page 1"  # stored
    response, request = _session_get(view, "bob")
    assert response.content == b"page 1"
    assert not request.session.accessed
    assert "Cookie" in response["Vary"]
    assert _session_get(view, None)[0].content == b"page 1"
    assert len(calls) == 1


def test_sessions_must_be_one_of_the_three():
    with pytest.raises(ValueError, match="sessions"):
        pagecache.cached_page(lambda request: [], sessions="all")
