"""API throttles (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES).

DRF's UserRateThrottle keys an anonymous request by its address, like AnonRateThrottle, so
an anonymous request paid for two histories in the cache of which only the tighter anonymous
rate can ever refuse it.

DRF's throttles read a request history (a pickled list of timestamps) with one cache call and
write it back with another: 2 Redis round trips on every API request, and two concurrent
requests of one caller can both read the same history and count once. Here the history is a
Redis sorted set that one Lua script trims, counts and extends: one round trip, atomic. The
rule is DRF's, unchanged: a request is let through when fewer than `num_requests` requests
were let through in the last `duration` seconds; a refused one is not recorded; `wait()` is
DRF's formula.
"""

from __future__ import annotations

import secrets

from django.core.cache import cache
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

#: KEYS[1]: the history; ARGV: now, duration, the allowed requests, a unique member.
#: Returns {1} when the request is let through, else {0, the requests in the window, the
#: oldest one's time as a string} for `wait()` (Lua numbers would come back truncated to
#: integers): an allowed request, the common case, costs no read of the oldest and a one-item reply.
_ALLOW = """
local now, duration, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - duration)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(duration))
  return {1}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, count, oldest[2] or ARGV[1]}
"""


class OneRoundTripThrottleMixin:
    """DRF's SimpleRateThrottle rule, kept in a Redis sorted set by one script call."""

    # Not DRF's key names: a history DRF pickled under them is not a sorted set.
    cache_format = "throttle_window_%(scope)s_%(ident)s"
    _script = None

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        key = cache.make_and_validate_key(self.key)
        # The cache's Redis client, the process's one (marketplace/cache.py); the script is
        # sent once per process and server and run by its digest after that (EVALSHA).
        client = cache._cache.get_client(key, write=True)
        script = OneRoundTripThrottleMixin._script
        if script is None:
            script = OneRoundTripThrottleMixin._script = client.register_script(_ALLOW)
        answer = script(
            keys=[key],
            args=[repr(self.now), self.duration, self.num_requests, f"{self.now!r}:{secrets.token_hex(6)}"],
            client=client,
        )
        if answer[0]:
            return True
        _refused, self._count, oldest = answer
        self._oldest = float(oldest)
        return False

    def wait(self):
        # DRF's: the time until the oldest request leaves the window, spread over the requests
        # that would then be free.
        remaining_duration = self.duration - (self.now - self._oldest)
        available_requests = self.num_requests - self._count + 1
        if available_requests <= 0:
            return None
        return remaining_duration / float(available_requests)


class AnonymousRateThrottle(OneRoundTripThrottleMixin, AnonRateThrottle):
    """The "anon" rate, keyed by the caller's address, for anonymous callers only."""


class SignedInRateThrottle(OneRoundTripThrottleMixin, UserRateThrottle):
    """The "user" rate for signed-in callers only: anonymous ones are AnonymousRateThrottle's
    (the "anon" rate, by default the lower one), so each request pays for one history."""

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)
