"""Related rows a service already holds in memory, handed to the readers without a query.

A service that has just written a parent and its children (checkout: an order, its lines,
events and shipments) has every row in memory; reading them back for the answer costs round
trips for nothing. `set_prefetched` stores them where `prefetch_related` would have put them,
so `parent.children.all()` (templates, serializers, selectors) reads the list, exactly as
after a `prefetch_related("children")`, and anything that filters or orders
(`parent.children.filter(...)`) still asks the database, as it would after a prefetch.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.db.models.fields.related_descriptors import ReverseManyToOneDescriptor, ReverseOneToOneDescriptor


def set_prefetched(
    instance: models.Model, relation: str, objects: Iterable[models.Model] | models.Model | None
) -> None:
    """Make `instance.<relation>` read `objects` without a query.

    `relation` is a reverse foreign key (`objects`: the children, in the order they are to be
    read) or a reverse one-to-one (`objects`: the one row, or None when there is none, so that
    `getattr(instance, relation, None)` answers None without asking). Django's own
    `prefetch_related` leaves the same caches; `refresh_from_db()` clears them.
    """
    descriptor = getattr(type(instance), relation)
    if isinstance(descriptor, ReverseOneToOneDescriptor):
        descriptor.related.set_cached_value(instance, objects)
        return
    if not isinstance(descriptor, ReverseManyToOneDescriptor) or descriptor.field.many_to_many:
        raise TypeError(f"{type(instance).__name__}.{relation} is not a reverse foreign key or one-to-one")
    manager = getattr(instance, relation)
    cache_name = descriptor.field.remote_field.cache_name
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    cache.pop(cache_name, None)  # else get_queryset() would hand back the previous cache
    # What prefetch_related stores: the relation's own (unevaluated) queryset with its
    # result cache filled in, so chained filters still build on the relation.
    queryset = manager.get_queryset()
    queryset._result_cache = list(objects)
    queryset._prefetch_done = True
    cache[cache_name] = queryset
