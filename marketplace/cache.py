"""The project's cache backend (CACHES["default"]): Django's Redis cache, with one Redis client
per process and server instead of one per cache call (issue #12).

Django's `RedisCacheClient.get_client` builds a new `redis.Redis(connection_pool=...)` on every
cache call, and redis-py's constructor copies its whole table of response callbacks each time
(about 170 entries): 6 clients and about 1.5 ms of CPU per order (2 adds and a checkout), for
nothing, since a client holds no state of its own beyond its pool. Django's `caches` also gives
every thread its own `RedisCache`, and so its own pools and connections.

Here the client of a cache configuration (its servers and OPTIONS) is built once per process
and shared by every thread and every call, over one connection pool per server: redis-py's
`Redis` and `ConnectionPool` are thread-safe (each command borrows a connection from the pool
and gives it back). Pipelines and scripts are objects of their own, made per use, as before.

Forks (gunicorn's workers): a pool remembers the process that made it and, used in another one,
drops the parent's connections and opens its own (redis-py's `ConnectionPool._checkpid`), so a
client built before a fork still works in each child without sharing a socket.

One addition, `get_or_add_many` (the page cache gives tokens to missing generations with it).
Everything else is Django's, unchanged: the serializer (integers stored as such, the rest
pickled), the key prefix and versions, the timeouts, reads from replicas when several servers
are given, and `redis.exceptions.RedisError` raised to the caller (the page cache, the
throttles and the flash-sale token cache rely on it to fall back).
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import redis
from django.core.cache.backends import redis as django_redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.utils.functional import cached_property

#: The shared pool's size unless OPTIONS say otherwise. redis-py's pools hold at most 100
#: connections by default and refuse the 101st (`MaxConnectionsError`); Django's per-thread
#: clients had a pool each, so a process's connections grew with its busy threads. One pool per
#: process must grow the same way, or a process with more than 100 threads using the cache at
#: once (200 buyers racing in threads, a threaded server) fails where it did not. Connections
#: are opened only as concurrently needed and kept for reuse, as before.
UNBOUNDED = 2**31 - 1


class RedisCacheClient(django_redis.RedisCacheClient):
    """Django's client, whose `get_client` returns the same `redis.Redis` for a server every time."""

    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._clients = {}
        self._lock = threading.Lock()

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            with self._lock:
                client = self._clients.get(index)
                if client is None:
                    pool = self._pools.get(index)
                    if pool is None:
                        pool = self._pools[index] = self._pool_class.from_url(
                            self._servers[index], **{"max_connections": UNBOUNDED, **self._pool_options}
                        )
                    client = self._clients[index] = self._client(connection_pool=pool)
        return client

    def get_or_add_many(self, data, timeout):
        client = self.get_client(None, write=True)
        if timeout == 0:  # as Django's `add`: nothing is kept
            return self.get_many(list(data))
        pipeline = client.pipeline(transaction=False)
        for key, value in data.items():
            pipeline.set(key, self._serializer.dumps(value), ex=timeout, nx=True)
        pipeline.mget(list(data))
        *_added, values = pipeline.execute()
        return {
            key: self._serializer.loads(value) for key, value in zip(data, values, strict=True) if value is not None
        }


#: The clients of this process, one per cache configuration (servers and OPTIONS).
_shared: dict[tuple, RedisCacheClient] = {}
_shared_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # A lock another thread of the parent held at the fork would stay held in the child (a
    # Celery prefork child, a gunicorn worker): the child starts with free ones.
    global _shared_lock
    _shared_lock = threading.Lock()
    for client in _shared.values():
        client._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class RedisCache(django_redis.RedisCache):
    """Django's Redis cache whose every instance (one per thread) uses the process's client."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def get_or_add_many(self, data, timeout=DEFAULT_TIMEOUT, version=None) -> dict:
        """`add` of every item (written only where its key is missing: a value another process
        wrote meanwhile is kept), then the value each key has now, as `get_or_set` does for one
        key, in one round trip (a pipeline, not a transaction: each key's add is atomic)."""
        if not data:
            return {}
        key_map = {self.make_and_validate_key(key, version=version): key for key in data}
        found = self._cache.get_or_add_many(
            {full: data[key] for full, key in key_map.items()}, self.get_backend_timeout(timeout)
        )
        return {key_map[full]: value for full, value in found.items()}

    @cached_property
    def _cache(self):
        # repr: OPTIONS may hold classes or objects (a serializer), which compare by identity.
        key = (self._class, tuple(self._servers), repr(sorted(self._options.items())))
        with _shared_lock:
            client = _shared.get(key)
            if client is None:
                client = _shared[key] = self._class(self._servers, **self._options)
        return client


@lru_cache(maxsize=16)
def redis_client(url: str, **options) -> redis.Redis:
    """The process's client of a Redis named by URL (one connection pool, built at first use),
    for code that talks to a Redis other than through the cache, e.g. the health check's ping of
    the broker: thread-safe and fork-safe as the cache's."""
    return redis.Redis.from_url(url, **options)
