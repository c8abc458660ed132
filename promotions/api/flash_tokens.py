"""The flash-sale admission's cache of API tokens (`flash.CachedTokenAuthentication`), and
what revokes its entries.

An entry maps a token's digest to its user's (id, staff flag) for
FLASH_SALE_TOKEN_CACHE_SECONDS. Whatever makes a token stop admitting its user marks the entry
`REVOKED` once the change commits: the token deleted (revoked, rotated — DRF rotates by
deleting and creating —, or deleted with its user), its user deactivated or made staff. The
next admission with it reads the token table again (401 or 404, as the API answers). The
receivers are connected in `PromotionsConfig.ready`, so any code path (the admin, a shell, a
service) revokes at once.
"""

from __future__ import annotations

import hashlib
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from rest_framework.authtoken.models import Token

#: What a revocation leaves in a token's entry for FLASH_SALE_TOKEN_CACHE_SECONDS (an entry
#: marked, not deleted: an authentication that read the token just before the revocation
#: committed adds its entry only where there is none, so it cannot undo the revocation).
REVOKED = "revoked"


def token_cache_key(key: str) -> str:
    """The shared cache's entry of an API token (its digest: the cache never holds a token)."""
    return "flash:token:" + hashlib.sha256(key.encode()).hexdigest()


def forget_token(key: str) -> None:
    """Mark a token's entry revoked when the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(cache.set, token_cache_key(key), REVOKED, settings.FLASH_SALE_TOKEN_CACHE_SECONDS))


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
