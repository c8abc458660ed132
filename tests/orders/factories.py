"""Builders for order tests."""

from orders.models import Address


def address_for(buyer, *, region="east") -> Address:
    return Address.objects.create(
        buyer=buyer,
        recipient="王伟",
        phone="13800000000",
        region=region,
        province="上海市",
        city="上海市",
        district="浦东新区",
        line="世纪大道 100 号",
        postcode="200120",
        is_default=True,
    )
