"""The flash-sale admission's cache of API tokens (`flash.CachedTokenAuthentication`), and
what revokes its entries.

An entry maps a token's digest to its user's (id, staff flag) for
FLASH_SALE_TOKEN_CACHE_SECONDS, in two places: the shared cache (one read per admission at
most, none of the token table) and a copy in each process (`local`: no round trip at all; under
load a Redis round trip costs as much as the rest of the admission, measured for issue #13).

Whatever makes a token stop admitting its user revokes it once the change commits: the token
deleted (revoked, rotated — DRF rotates by deleting and creating —, or deleted with its user),
its user deactivated or made staff. The shared entry is marked `REVOKED` and the revocation is
published on a Redis channel; every process listens to it (a daemon thread) and drops its copy
as the message arrives. A process uses its copies only while it listens: until its
subscription is confirmed, after any error of it (messages may have been lost), and when a
revocation arrived while an admission was reading the shared entry, it keeps no copy. The next
admission with a revoked token reads the token table again (401 or 404, as the API answers).
The receivers are connected in `PromotionsConfig.ready`, so any code path (the admin, a shell,
a service) revokes at once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from functools import partial

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from rest_framework.authtoken.models import Token

from .. import flash_redis

logger = logging.getLogger(__name__)

#: What a revocation leaves in a token's entry for FLASH_SALE_TOKEN_CACHE_SECONDS (an entry
#: marked, not deleted: an authentication that read the token just before the revocation
#: committed adds its entry only where there is none, so it cannot undo the revocation).
REVOKED = "revoked"


def token_digest(key: str) -> str:
    """What the caches know a token by (they never hold a token)."""
    return hashlib.sha256(key.encode()).hexdigest()


def token_cache_key(key: str) -> str:
    """The shared cache's entry of an API token."""
    return "flash:token:" + token_digest(key)


def channel() -> str:
    """The Redis channel of revocations (messages: token digests)."""
    return f"{settings.FLASH_SALE_KEY_PREFIX}:token-revoked"


class LocalTokens:
    """This process's copies of token entries, used only while it listens to revocations.

    `epoch` counts the revocations received and the (re)subscriptions: an admission notes it
    before reading the shared entry and `put`s its copy only if it has not moved, so a copy is
    never made of what a revocation (or a gap in listening) may have made stale."""

    #: A full table starts again (each entry then costs one shared read).
    MAX_ENTRIES = 10_000

    def __init__(self):
        self.entries: dict[str, tuple[float, tuple[int, bool]]] = {}
        self.listening = False
        self.epoch = 0
        self.lock = threading.Lock()
        self.pid = None

    def get(self, digest: str) -> tuple[int, bool] | None:
        if not self.listening:
            return None
        hit = self.entries.get(digest)
        if hit is None or hit[0] <= time.monotonic():
            return None
        return hit[1]

    def put(self, digest: str, user: tuple[int, bool], epoch: int) -> None:
        with self.lock:
            if not self.listening or self.epoch != epoch:
                return
            if len(self.entries) >= self.MAX_ENTRIES:
                self.entries.clear()
            self.entries[digest] = (time.monotonic() + settings.FLASH_SALE_TOKEN_CACHE_SECONDS, tuple(user))

    def drop(self, digest: str) -> None:
        with self.lock:
            self.epoch += 1
            self.entries.pop(digest, None)

    def _subscribed(self, listening: bool) -> None:
        with self.lock:
            self.epoch += 1
            self.entries.clear()
            self.listening = listening

    def ensure_listening(self) -> None:
        """Start this process's listener (once per process: a forked worker starts its own)."""
        if self.pid == os.getpid():
            return
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()
            self.entries.clear()
            self.listening = False
        threading.Thread(target=self._listen, name="flash-token-revocations", daemon=True).start()

    def _listen(self) -> None:
        while True:
            try:
                # A connection of its own that pings when idle (health checks): a dead one
                # raises rather than hangs, and the copies are off until subscribed again.
                listener = redis.Redis.from_url(
                    settings.FLASH_SALE_REDIS_URL, socket_connect_timeout=2, socket_timeout=10, health_check_interval=15
                )
                pubsub = listener.pubsub()
                try:
                    pubsub.subscribe(channel())
                    while True:
                        message = pubsub.get_message(timeout=5.0)
                        if message is None:
                            continue
                        if message["type"] == "subscribe":
                            self._subscribed(True)
                        elif message["type"] == "message":
                            self.drop(message["data"].decode())
                finally:
                    self._subscribed(False)
                    pubsub.close()
                    listener.close()
            except Exception:  # logged; the copies are off until subscribed again
                logger.warning("Flash-sale token revocations: listening failed; retrying", exc_info=True)
            time.sleep(1)


#: This process's copies.
local = LocalTokens()


def _revoke(key: str) -> None:
    digest = token_digest(key)
    cache.set(token_cache_key(key), REVOKED, settings.FLASH_SALE_TOKEN_CACHE_SECONDS)
    local.drop(digest)
    flash_redis.client().publish(channel(), digest)


def forget_token(key: str) -> None:
    """Revoke a token's entries when the current transaction commits (at once outside one):
    the shared entry marked, this process's copy dropped, the other processes told."""
    transaction.on_commit(partial(_revoke, key))


def token_deleted(sender, instance, **kwargs) -> None:
    """post_delete of a Token."""
    forget_token(instance.key)


def user_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    """post_save of a user: an inactive or staff user's token no longer admits (401 / 404).
    A login (only `last_login` saved) changes neither, and asks nothing."""
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    if instance.is_active and not instance.is_staff:
        return
    for key in Token.objects.filter(user_id=instance.pk).values_list("key", flat=True):
        forget_token(key)
