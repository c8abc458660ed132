"""The shareable group-buy page in a real browser: anyone with the link sees the ladder with
the current step, who joined (masked names) and a running countdown; a buyer joins from it,
pays in the sandbox, and the page (theirs and the visitor's, reloaded) shows the new step."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import Page, expect

from orders.models import BuyerOrder
from promotions.models import GroupBuyParticipant
from tests.factories import UserFactory
from tests.orders.factories import address_for
from tests.promotions.group_buy_world import build_group_world, join


def _members(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("ul.members li").all_inner_texts()]


def test_the_group_page_shows_the_step_and_masked_names_and_updates_when_a_buyer_joins(page: Page, new_page, log_in):
    world = build_group_world()  # ¥100.00, ladder 2 → 10 %, 5 → 20 %, 10 → 30 %; shipping ¥8
    opener = UserFactory(first_name="Wei", last_name="Wang", email="wei.wang@example.com")
    first, _order = join(world, buyer=opener)
    group_url = f"/group-buys/groups/{first.group_id}/"

    # A visitor with the shared link (not signed in).
    page.goto(group_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Lamp for friends")
    expect(page.locator("article.group-buy")).to_contain_text("1 person has paid.")
    expect(page.locator("article.group-buy")).to_contain_text("1 more person for 10.00% off.")
    expect(page.locator(".ladder li[aria-current=step]")).to_have_count(0)  # no step reached yet
    assert _members(page) == ["W**"]
    body = page.content()
    assert "Wang" not in body and "wei.wang@example.com" not in body
    # The countdown is run by the page's script (hh:mm:ss), not the server's text.
    expect(page.locator("time[data-countdown]")).to_have_text(re.compile(r"^\d{2,}:\d{2}:\d{2}$"))
    expect(page.get_by_role("link", name="Sign in to join")).to_be_visible()
    expect(page.get_by_role("button", name="Join this group")).to_have_count(0)

    # A buyer opens the same link, signs in and joins: the order is priced at the first step.
    buyer = UserFactory(first_name="Li", last_name="Na", email="li.na@example.com")
    address_for(buyer)
    joiner = new_page()
    log_in(joiner, buyer.email, next_url=group_url)
    expect(joiner).to_have_url(re.compile(rf"{group_url}$"))
    joiner.get_by_label("Quantity").fill("1")
    joiner.get_by_role("button", name="Join this group").click()
    expect(joiner.get_by_role("heading", level=1)).to_have_text("Pay for your order")
    order = BuyerOrder.objects.get(buyer=buyer)
    assert order.payable_total == Decimal("98.00")  # ¥100 − 10 % + ¥8 shipping
    joiner.get_by_role("button", name="Pay ¥98.00").click()
    joiner.get_by_role("button", name="Pay", exact=True).click()
    expect(joiner.locator(".messages")).to_contain_text("Payment received.")

    # Back on the group page: the step is reached, both members shown masked, no form.
    joiner.goto(group_url)
    group = joiner.locator("article.group-buy")
    expect(group).to_contain_text("2 people have paid.")
    expect(group).to_contain_text("Step reached: 10.00% off.")
    expect(group).to_contain_text("3 more people for 20.00% off.")
    expect(joiner.locator(".ladder li[aria-current=step]")).to_have_text(re.compile(r"2 people: 10.00% off"))
    expect(group).to_contain_text("You are in this group.")
    expect(joiner.get_by_role("button", name="Join this group")).to_have_count(0)
    assert _members(joiner) == ["W**", "L**"]

    # The visitor's page, reloaded, shows the same.
    page.reload()
    expect(page.locator("article.group-buy")).to_contain_text("2 people have paid.")
    expect(page.locator(".ladder li[aria-current=step]")).to_have_text(re.compile(r"2 people: 10.00% off"))
    assert _members(page) == ["W**", "L**"]
    assert "Li Na" not in page.content() and "li.na@example.com" not in page.content()
    assert GroupBuyParticipant.objects.filter(group_id=first.group_id).count() == 2
