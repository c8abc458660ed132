"""What merchants see of a buyer's personal data: only what shipping needs (domain.md, "What
people expect around it": masked beyond what shipping needs; no bulk export).

- While the merchant order is to ship (paid) or in transit (shipped), the merchant needs the
  recipient's name, phone and full address for the parcel: shown as they are.
- Before payment and after delivery (delivered, completed, cancelled) the merchant needs none
  of them: the phone keeps its first three and last four digits (138****1234), the address
  stops at the district (the street, building and door are dropped), the recipient's name
  keeps its first character.
- The buyer's account (name, e-mail) is never needed for shipping: always masked.
Every merchant-facing page and API reads these through `BuyerContact.for_merchant`, never the
order's columns directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .choices import OrderStatus

#: The merchant order's states in which the merchant ships or tracks the parcel.
SHIPPING_STATES = frozenset({OrderStatus.PAID, OrderStatus.SHIPPED})
MASK = "****"
# The snapshot is "province city district street" without separators (orders.services.checkout):
# the district is the first 区/县/旗 that is not the end of a province's name (自治区, 特别行政区).
_DISTRICT = re.compile(r"^.*?(?<!自治)(?<!行政)[区县旗]")
_CITY = re.compile(r"^.*市")


def mask_phone(phone: str) -> str:
    """138****1234: the first three and last four digits; shorter numbers are masked whole."""
    digits = (phone or "").strip()
    if len(digits) < 8:
        return MASK if digits else ""
    return f"{digits[:3]}{MASK}{digits[-4:]}"


def mask_address(address: str) -> str:
    """The address down to its district (then ****); without a district found, down to its
    city; without either, masked whole."""
    address = (address or "").strip()
    if not address:
        return ""
    found = _DISTRICT.match(address) or _CITY.match(address)
    if found is None or found.end() == len(address):
        return MASK if found is None else address
    return f"{found.group(0)}{MASK}"


def mask_name(name: str) -> str:
    """The first character, then *: 张** (a name of one character is masked whole)."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" if name else ""
    return name[0] + "*" * min(len(name) - 1, 2)


def mask_email(email: str) -> str:
    """a***@example.com: the first character of the mailbox and the domain."""
    local, at, domain = (email or "").partition("@")
    if not at:
        return mask_name(email)
    return f"{local[:1]}***@{domain}"


@dataclass(frozen=True)
class BuyerContact:
    """The recipient as a merchant may see it for one of its merchant orders."""

    recipient: str
    phone: str
    address: str
    masked: bool

    @classmethod
    def for_merchant(cls, order) -> BuyerContact:
        """`order`: a MerchantOrder with its `buyer_order` (joined by the merchant selectors)."""
        buyer_order = order.buyer_order
        if order.status in SHIPPING_STATES:
            return cls(buyer_order.recipient, buyer_order.phone, buyer_order.address, masked=False)
        return cls(
            mask_name(buyer_order.recipient),
            mask_phone(buyer_order.phone),
            mask_address(buyer_order.address),
            masked=True,
        )
