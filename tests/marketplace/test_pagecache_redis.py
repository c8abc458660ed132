"""What the page cache (marketplace.pagecache) asks Redis: a hit is one MGET; generations
missing from the cache get their tokens in one round trip, whatever their number."""

from __future__ import annotations

import pytest
import redis
from django.core.cache import cache
from django.http import HttpResponse
from django.test import RequestFactory

from marketplace import pagecache

pytestmark = [pytest.mark.django_db, pytest.mark.page_cache]


@pytest.fixture
def sent(monkeypatch):
    """The round trips from here on: each command, and each pipeline as the list of its commands."""
    trips = []
    real_command, real_execute = redis.Redis.execute_command, redis.client.Pipeline.execute

    def execute_command(self, *args, **kwargs):
        trips.append(args[0])
        return real_command(self, *args, **kwargs)

    def execute(self, *args, **kwargs):
        trips.append([command[0][0] for command in self.command_stack])
        return real_execute(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", execute_command)
    monkeypatch.setattr(redis.client.Pipeline, "execute", execute)
    return trips


def _view(names):
    calls = []

    @pagecache.cached_page(lambda request: names)
    def view(request):
        calls.append(1)
        return HttpResponse(f"page {len(calls)}")

    return view


def _get(view):
    request = RequestFactory().get("/thing/")
    request.session = type("S", (), {"modified": False})()
    return view(request)


def test_missing_generations_get_their_tokens_in_one_round_trip(sent):
    names = [f"product:{pk}" for pk in range(1, 25)]
    cache.set("pc:gen:product:7", "given-meanwhile", timeout=None)
    found = cache.get_many([pagecache.generation_key(name) for name in names if name != "product:7"])
    sent.clear()
    tokens = pagecache.generation_tokens(names, found)
    assert sent == [["SET"] * 24 + ["MGET"]]  # were 24 SETs (add) and an MGET, one after another
    assert tokens["product:7"] == "given-meanwhile"  # an add: never replaces a token
    assert len({tokens[name] for name in names}) == 24
    assert cache.get_many([pagecache.generation_key(name) for name in names]) == {
        pagecache.generation_key(name): tokens[name] for name in names
    }


def test_a_page_under_missing_generations_is_stored_then_hit_in_one_mget(sent):
    view = _view([f"product:{pk}" for pk in range(1, 11)])
    assert _get(view).content == b"page 1"
    assert sent == ["MGET", ["SET"] * 11 + ["MGET"], "SET"]  # read, tokens given, page stored
    sent.clear()
    assert _get(view).content == b"page 1"
    assert sent == ["MGET"]
