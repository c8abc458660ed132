"""Merchant quality's pages: the portal's credit rating (owner, members, another merchant,
buyer, anonymous, staff) and the admin's weights, requalification and renewal screens for
each staff role."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from demo.quality import seed_quality_for
from marketplace.models import AuditLogEntry
from marketplace.roles import FINANCE, OPERATIONS, REVIEWER, sync_staff_groups
from merchants.models import Contract, MerchantMember
from risk.models import CreditRating, RatingWeights, RenewalCase, RequalificationReview
from tests.access_world import quality_renewal
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PORTAL = "/portal/quality/"
TODAY = datetime.date(2026, 12, 7)


@pytest.fixture(autouse=True)
def _setup(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    sync_staff_groups()


def staff(group=None):
    user = UserFactory(is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def _world():
    merchants = [live_merchant()[0] for _ in range(3)]
    Contract.objects.filter(merchant=merchants[0]).update(
        status="accepted", start_date=datetime.date(2026, 1, 1), end_date=datetime.date(2027, 1, 1)
    )
    seed_quality_for(merchants, today=TODAY)
    return merchants


# --- Portal -----------------------------------------------------------------------------------


def test_the_owner_sees_its_score_the_figures_and_the_formula(client):
    a, _d, _b = _world()
    client.force_login(a.owner)
    page = client.get(PORTAL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Your grade: A" in html
    assert "Score 95.58 of 100, computed on 2026-12-06." in html
    assert "On-time shipment rate (117 of 118 orders due)" in html
    for figure in ("99.15 %", "39.66", "1.67 %", "18.33", "0.83 %", "18.34", "4.85", "19.25"):
        assert figure in html
    formula = html[html.index('id="formula"') :]
    assert "Returns: 20 × (1 − return rate ÷ 20.00 %), never below 0." in formula, formula[:900]
    assert "47.62" not in html  # another merchant's score


def test_members_see_their_merchants_rating_others_do_not(client):
    _a, d, _b = _world()
    for role in ("catalog", "orders", "finance"):
        member = UserFactory()
        MerchantMember.objects.create(merchant=d, user=member, role=role)
        client.force_login(member)
        html = client.get(PORTAL).content.decode()
        assert "Your grade: D" in html and "47.62" in html
        assert "A requalification review of 2026Q3 is open" in html
    client.logout()
    assert client.get(PORTAL).status_code == 302  # anonymous: to the login page
    for user in (UserFactory(), staff(), staff(OPERATIONS)):
        client.force_login(user)
        assert client.get(PORTAL).status_code == 404


def test_a_merchant_not_rated_yet_is_told_so(client):
    merchant, _c = live_merchant()
    client.force_login(merchant.owner)
    html = client.get(PORTAL).content.decode()
    assert "Your shop has not been rated yet" in html
    assert "On-time shipment: 40 × the share of orders shipped within the promised time." in html


# --- Admin: weights ---------------------------------------------------------------------------


def _weights_post(**overrides):
    data = {
        "on_time_weight": "40",
        "return_weight": "20",
        "complaint_weight": "20",
        "review_weight": "20",
        "return_rate_zero_at": "20.00",
        "complaint_rate_zero_at": "10.00",
        "min_orders": "20",
    }
    return data | overrides


def test_operations_edit_the_weights_a_bad_sum_is_refused_others_may_not(client):
    weights = RatingWeights.objects.get_or_create(pk=1)[0]
    url = f"/admin/risk/ratingweights/{weights.pk}/change/"
    for user in (staff(REVIEWER), staff(FINANCE), staff()):
        client.force_login(user)
        assert client.post(url, _weights_post(on_time_weight="50", review_weight="10")).status_code == 403
    client.force_login(staff(OPERATIONS))
    refused = client.post(url, _weights_post(on_time_weight="50"))
    assert refused.status_code == 200
    weights.refresh_from_db()
    assert (weights.on_time_weight, weights.review_weight) == (40, 20)
    assert not AuditLogEntry.objects.filter(action="risk.rating_weights_changed").exists()
    saved = client.post(url, _weights_post(on_time_weight="50", review_weight="10"))
    assert saved.status_code == 302
    weights.refresh_from_db()
    assert (weights.on_time_weight, weights.review_weight) == (50, 10)
    assert AuditLogEntry.objects.filter(action="risk.rating_weights_changed").count() == 1


def test_staff_read_the_rating_history_filtered(client):
    _world()
    client.force_login(staff(OPERATIONS))
    page = client.get("/admin/risk/creditrating/?grade__exact=D")
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == list(CreditRating.objects.filter(grade="D"))
    client.force_login(staff(FINANCE))
    assert client.get("/admin/risk/creditrating/").status_code == 403


# --- Admin: requalification and renewals ------------------------------------------------------


def test_reviewers_decide_a_requalification_operations_and_finance_may_not(client):
    _world()
    review = RequalificationReview.objects.get()
    url = f"/admin/risk/requalificationreview/{review.pk}/conditions/"
    data = {"reason": "Late parcels", "conditions": "Ship within 24 h for a quarter"}
    for user in (staff(OPERATIONS), staff(FINANCE)):
        client.force_login(user)
        assert client.post(url, data).status_code == 403
    review.refresh_from_db()
    assert review.status == "open"
    reviewer = staff(REVIEWER)
    client.force_login(reviewer)
    assert client.post(url, data).status_code == 302
    review.refresh_from_db()
    assert (review.status, review.conditions, review.decided_by) == (
        "conditions",
        "Ship within 24 h for a quarter",
        reviewer,
    )


def test_the_renewal_queue_ranks_the_weakest_first_and_operations_decide(client):
    a, d, b = _world()
    quality_renewal(d)  # grade D: no score on the case, ranked after the scored ones
    Contract.objects.filter(merchant=b).update(status="accepted")
    weakest = quality_renewal(b)
    RenewalCase.objects.filter(pk=weakest.pk).update(score=Decimal("47.62"))
    RenewalCase.objects.filter(merchant=a).update(score=Decimal("95.58"))
    client.force_login(staff(OPERATIONS))
    page = client.get("/admin/risk/renewalcase/?status__exact=pending")
    assert page.status_code == 200
    assert [case.merchant_id for case in page.context["cl"].result_list] == [b.pk, a.pk, d.pk]
    case = RenewalCase.objects.get(merchant=a)
    url = f"/admin/risk/renewalcase/{case.pk}/not_renew/"
    client.force_login(staff(REVIEWER))
    assert client.post(url, {"reason": "Weak"}).status_code == 403
    client.force_login(staff(OPERATIONS))
    assert client.post(url, {"reason": "Weak growth"}).status_code == 302
    case.refresh_from_db()
    assert (case.status, case.reason) == ("not_renewed", "Weak growth")
