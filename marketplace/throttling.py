"""API throttles (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES).

DRF's UserRateThrottle keys an anonymous request by its address, like AnonRateThrottle, so
an anonymous request paid for two histories in the cache (a get and a set each: 4 Redis
round trips) of which only the tighter anonymous rate can ever refuse it.
"""

from __future__ import annotations

from rest_framework.throttling import UserRateThrottle


class SignedInRateThrottle(UserRateThrottle):
    """The "user" rate for signed-in callers only: anonymous ones are AnonRateThrottle's
    (the "anon" rate, by default the lower one), so they cost 2 Redis round trips instead of 4."""

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)
