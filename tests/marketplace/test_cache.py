"""The cache backend (marketplace/cache.py): Django's Redis cache with one Redis client per
process and server, shared by every call and every thread, working after a fork, and otherwise
Django's behaviour (serializer, key prefix, timeouts, errors)."""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.conf import settings
from django.core.cache import cache, caches
from django.test import override_settings

from marketplace import cache as marketplace_cache
from marketplace.cache import RedisCache, redis_client


@pytest.fixture
def constructed(monkeypatch):
    """Counts the `redis.Redis` clients built."""
    built = []
    real = redis.Redis.__init__

    def init(self, *args, **kwargs):
        built.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", init)
    return built


def test_the_default_cache_is_the_projects_backend():
    assert type(caches["default"]) is RedisCache


def test_cache_calls_in_one_thread_reuse_one_client(constructed):
    first = cache._cache.get_client("a")
    cache.set("a", 1)
    assert cache.get("a") == 1
    cache.set_many({"b": 2, "c": 3})
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "b": 2, "c": 3}
    assert cache.add("d", 4) is True
    assert cache.incr("d") == 5
    cache.delete("a")
    assert cache._cache.get_client("b", write=True) is first
    assert cache._cache.get_client(None) is first
    assert constructed == []  # were one per call


def test_a_thread_gets_a_working_client_the_processs_own(constructed):
    main = cache._cache.get_client()
    seen = {}

    def work():
        # Django's `caches` gives a thread its own RedisCache object: it uses the same client.
        seen["backend"] = caches["default"]
        seen["client"] = cache._cache.get_client()
        cache.set("from-thread", {"n": 7})
        seen["read"] = cache.get("from-thread")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen["backend"] is not caches["default"]
    assert seen["client"] is main
    assert seen["read"] == {"n": 7}
    assert cache.get("from-thread") == {"n": 7}
    assert constructed == []


def test_threads_share_the_client_without_mixing_answers():
    def work(n):
        keys = {f"t{n}:{i}": n * 1000 + i for i in range(25)}
        cache.set_many(keys)
        mine = [cache.get(key) for key in keys]
        return mine == list(keys.values()) and cache.get_many(list(keys)) == keys

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(work, range(16)))
    assert answers == [True] * 16
    assert len(cache.get_many([f"t{n}:{i}" for n in range(16) for i in range(25)])) == 400


def test_more_threads_than_redis_pys_default_pool_size_use_the_cache_at_once():
    """redis-py's pools refuse a 101st connection by default; Django's per-thread clients had a
    pool each. 120 threads each holding a connection at the same moment (a blocking pop that
    waits its second out) all get one: none is refused with MaxConnectionsError."""
    shared = cache._cache.get_client(write=True)
    threads = 120
    start = threading.Barrier(threads)

    def hold(i):
        start.wait(timeout=30)
        return shared.blpop([f"test-cache-nothing-{os.getpid()}-{i}"], timeout=1)

    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(hold, range(threads)))
    assert answers == [None] * threads
    assert shared.connection_pool.max_connections == marketplace_cache.UNBOUNDED


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks as gunicorn does")
def test_a_forked_process_uses_its_own_connections_through_the_same_client():
    client = cache._cache.get_client()
    cache.set("parent", 1)  # the pool holds a connection of the parent
    pid = os.fork()
    if pid == 0:  # the child (a gunicorn worker): exits at once, without pytest's teardown
        status = 1
        try:
            child_client = cache._cache.get_client()
            cache.set("child", os.getpid())
            used = child_client.connection_pool._created_connections  # opened by the child
            ok = child_client is client and cache.get("child") == os.getpid() and cache.get("parent") == 1
            status = 0 if ok and used == 1 else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert cache.get("child") == pid
    cache.set("parent", 2)  # the parent's connection was left alone by the child
    assert cache.get("parent") == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks as Celery's prefork pool does")
def test_a_child_forked_while_a_thread_held_the_registry_lock_can_still_build_clients():
    config = settings.CACHES["default"]
    with marketplace_cache._shared_lock:  # another thread of the parent, building a client
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                backend = RedisCache(config["LOCATION"], config)
                status = 0 if backend._cache.get_client() is cache._cache.get_client() else 2
            finally:
                os._exit(status)
    for _ in range(100):  # a deadlocked child never exits: give up after 10 s
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the child waited forever for the parent's lock")
    assert os.waitstatus_to_exitcode(status) == 0


def test_djangos_behaviour_is_kept_serializer_prefix_and_timeouts():
    raw = cache._cache.get_client()
    cache.set("n", 5)
    cache.set("obj", {"a": [1, 2]})
    full = cache.make_and_validate_key("n")
    assert full == "mp:1:n"
    assert raw.get(full) == b"5"  # integers as such (atomic incr), the rest pickled
    assert raw.get("mp:1:obj") == pickle.dumps({"a": [1, 2]}, pickle.HIGHEST_PROTOCOL)
    cache.set("forever", 1, timeout=None)
    cache.set("minute", 1, timeout=60)
    cache.set("gone", 1, timeout=0)
    assert raw.ttl("mp:1:forever") == -1
    assert 59 <= raw.ttl("mp:1:minute") <= 60
    assert raw.exists("mp:1:gone") == 0
    assert cache.get("n", version=2) is None


def test_redis_errors_still_reach_the_caller():
    live = cache._cache.get_client()
    dead = {"default": {"BACKEND": "marketplace.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    with override_settings(CACHES=dead):
        with pytest.raises(redis.exceptions.ConnectionError):
            caches["default"].get("anything")
        # Another configuration, another client: the live one is not the dead one.
        assert caches["default"]._cache.get_client() is not live
    assert cache._cache.get_client() is live
    assert cache.add("alive", 1) is True


@pytest.mark.django_db
def test_the_health_check_pings_the_broker_with_the_processs_client(client, constructed):
    assert [client.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
    assert len(constructed) <= 1  # the first check of the process builds it; was one per check
    assert redis_client(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1) is redis_client(
        settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1
    )


def test_get_or_add_many_adds_only_missing_keys_and_answers_every_current_value():
    raw = cache._cache.get_client()
    cache.set("kept", "before", timeout=1000)
    answer = cache.get_or_add_many({"kept": "new", "fresh": "token", "number": 3}, timeout=None)
    assert answer == {"kept": "before", "fresh": "token", "number": 3}
    assert cache.get_many(["kept", "fresh", "number"]) == answer
    assert (raw.ttl("mp:1:fresh"), raw.get("mp:1:number")) == (-1, b"3")  # no expiry; Django's serializer
    assert 990 <= raw.ttl("mp:1:kept") <= 1000  # not written
    assert cache.get_or_add_many({"timed": 1}, timeout=60) == {"timed": 1}
    assert 59 <= raw.ttl("mp:1:timed") <= 60
    assert cache.get_or_add_many({"nothing-kept": 1}, timeout=0) == {}
    assert cache.get("nothing-kept") is None
    assert cache.get_or_add_many({}) == {}


def test_get_or_add_many_is_one_round_trip(monkeypatch):
    executed = []
    real = redis.client.Pipeline.execute

    def execute(self, *args, **kwargs):
        executed.append(len(self.command_stack))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", execute)
    commands = []
    monkeypatch.setattr(redis.Redis, "execute_command", lambda self, *args, **kwargs: commands.append(args[0]))
    cache.get_or_add_many({f"g{i}": i for i in range(24)}, timeout=None)
    assert executed == [25]  # 24 SET NX and one MGET, sent together
    assert commands == []
