"""List pages build the filtered queryset (`ProductFilter.qs`) only when the paginator has no
compiled statement stored for the page's filters: a page whose statement is stored lists the
same products, in the same order, with the same number of queries, without building it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import views
from catalog.filters import ProductFilter, ProductPaginator
from catalog.models import Product
from tests.catalog.factories import live_merchant, product
from tests.merchants.factories import category as make_category

pytestmark = pytest.mark.django_db


def listed(response) -> list[int]:
    assert response.status_code == 200
    return [p.pk for p in response.context["page"].object_list]


@pytest.mark.parametrize("listing", ["search", "category"])
def test_a_stored_statement_lists_the_page_without_building_the_filtered_queryset(client, monkeypatch, listing):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(ProductPaginator, "_statements", {})
    home = make_category("Home")
    desk = make_category("Desk lamps", parent=home)
    shop, _ = live_merchant(categories=[home])
    made = [product(shop, desk, title=f"Lamp {i}", price=f"{100 + i}.00") for i in range(3)]
    Product.objects.filter(pk__in=[p.pk for p in made]).update(in_stock=True)
    path = "/search/" if listing == "search" else f"/c/{home.slug}/"
    query = {"category": desk.pk, "price_min": "50", "ordering": "-price", "in_stock": "1", "page": "1"}
    built = []
    real_qs = ProductFilter.qs

    def counted_qs(self):
        built.append(1)
        return real_qs.fget(self)

    monkeypatch.setattr(ProductFilter, "qs", property(counted_qs))
    first = client.get(path, query)
    assert listed(first) == [made[2].pk, made[1].pk]
    assert len(built) == 1  # compiled once: the queryset built
    with CaptureQueriesContext(connection) as queries:
        again = client.get(path, query)
    assert listed(again) == [made[2].pk, made[1].pk]
    assert len(built) == 1  # the statement stored: never built
    assert again.context["filter"].applied_ordering == "-price"
    with CaptureQueriesContext(connection) as first_queries:
        monkeypatch.setattr(ProductPaginator, "_statements", {})
        client.get(path, query)
    assert len(queries) == len(first_queries)
    assert listed(client.get(path, {**query, "page": "2"})) == [made[0].pk]
    assert listed(client.get(path, {**query, "page": "0"})) == [made[0].pk]  # the last page
