"""Subsidy programmes (issue #14): rule parameters checked per kind, the operations admin
(who may see, create and change them; bad parameters refused with nothing saved), the pool
figures, and the domain.md defaults the demo seeds."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from marketplace.roles import FINANCE, OPERATIONS, REVIEWER
from settlements.choices import ProgrammeKind
from settlements.models import SubsidyProgramme
from settlements.services import subsidies
from settlements.services.subsidies import SubsidyError
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def staff(*groups):
    user = UserFactory(is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


def programme(**fields) -> SubsidyProgramme:
    values = {
        "code": "fit-out",
        "name": "Fit-out",
        "kind": ProgrammeKind.FIT_OUT,
        "rules": {"rate": "0.20", "max_amount": "1000000"},
        "valid_from": datetime.date(2026, 1, 1),
    }
    values.update(fields)
    return subsidies.programme_save(programme=SubsidyProgramme(**values), actor=None)


# --- Rules per kind -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "rules", "clean"),
    [
        (
            ProgrammeKind.LOGISTICS,
            {"carriers": [" sf", "JDVA", "SF"], "per_order": "0.5", "per_order_special": "1"},
            {"carriers": ["JDVA", "SF"], "per_order": "0.50", "per_order_special": "1.00"},
        ),
        (ProgrammeKind.BRAND_INCUBATION, {"max_per_project": "500000"}, {"max_per_project": "500000.00"}),
        (
            ProgrammeKind.FIT_OUT,
            {"rate": "0.20", "max_amount": "1000000"},
            {"rate": "0.20", "max_amount": "1000000.00"},
        ),
        (ProgrammeKind.EQUIPMENT, {"min_rate": "0.10", "max_rate": "0.15"}, {"min_rate": "0.10", "max_rate": "0.15"}),
        (ProgrammeKind.TRAINING, {"rate": "0.8"}, {"rate": "0.8"}),
        (
            ProgrammeKind.TAX_REBATE,
            {
                "steps": [{"min_revenue": "10000000", "rate": "0.4"}, {"min_revenue": "5000000", "rate": "0.3"}],
                "years": 3,
            },
            {
                "steps": [{"min_revenue": "5000000.00", "rate": "0.3"}, {"min_revenue": "10000000.00", "rate": "0.4"}],
                "years": 3,
            },
        ),
    ],
)
def test_the_rules_of_each_kind_are_normalised(kind, rules, clean):
    assert subsidies.programme_rules_clean(kind=kind, rules=rules) == clean


@pytest.mark.parametrize(
    ("kind", "rules", "fields"),
    [
        (ProgrammeKind.LOGISTICS, {"per_order": "0.5", "per_order_special": "1"}, {"carriers"}),
        (ProgrammeKind.LOGISTICS, {"carriers": [], "per_order": "0.5", "per_order_special": "1"}, {"carriers"}),
        (
            ProgrammeKind.LOGISTICS,
            {"carriers": ["SF"], "per_order": "-1", "per_order_special": "x"},
            {"per_order", "per_order_special"},
        ),
        (ProgrammeKind.FIT_OUT, {"rate": "1.5", "max_amount": "10"}, {"rate"}),
        (ProgrammeKind.FIT_OUT, {"rate": 0.2, "max_amount": "10"}, {"rate"}),  # a float is refused
        (ProgrammeKind.FIT_OUT, {"rate": "0.2", "max_amount": "10", "bonus": "1"}, {"bonus"}),
        (ProgrammeKind.EQUIPMENT, {"min_rate": "0.15", "max_rate": "0.10"}, {"min_rate"}),
        (ProgrammeKind.TRAINING, {}, {"rate"}),
        (ProgrammeKind.TAX_REBATE, {"steps": [{"min_revenue": "5000000", "rate": "2"}], "years": 3}, {"steps"}),
    ],
)
def test_bad_rules_are_refused_with_every_wrong_parameter_named(kind, rules, fields):
    with pytest.raises(SubsidyError) as caught:
        subsidies.programme_rules_clean(kind=kind, rules=rules)
    assert caught.value.code == "invalid_programme_rules"
    assert set(caught.value.extra["fields"]) == fields


def test_a_logistics_programme_needs_a_yearly_cap_and_nothing_is_saved():
    with pytest.raises(SubsidyError) as caught:
        programme(
            code="logistics",
            kind=ProgrammeKind.LOGISTICS,
            rules={"carriers": ["SF"], "per_order": "0.50", "per_order_special": "1.00"},
        )
    assert caught.value.code == "programme_cap_required"
    assert SubsidyProgramme.objects.count() == 0


def test_the_budget_cannot_go_below_what_the_pool_used():
    pool = programme(budget=Decimal("100.00"))
    SubsidyProgramme.objects.filter(pk=pool.pk).update(committed=Decimal("60.00"), paid=Decimal("30.00"))
    pool.budget = Decimal("80.00")
    # The caller's stale pool figures are not trusted: the row's are read under its lock.
    pool.committed = pool.paid = Decimal("0")
    with pytest.raises(SubsidyError) as caught:
        subsidies.programme_save(programme=pool, actor=None)
    assert caught.value.code == "programme_budget_below_committed"
    pool.refresh_from_db()
    assert (pool.budget, pool.committed, pool.paid, pool.remaining) == (
        Decimal("100.00"),
        Decimal("60.00"),
        Decimal("30.00"),
        Decimal("10.00"),
    )


def test_the_defaults_are_the_programmes_of_domain_md_seeded_once():
    created = subsidies.programme_defaults_seed(valid_from=datetime.date(2026, 1, 1))
    assert {p.kind for p in created} == set(ProgrammeKind.values)
    assert subsidies.programme_defaults_seed(valid_from=datetime.date(2026, 1, 1)) == []
    logistics = SubsidyProgramme.objects.get(code="logistics")
    assert logistics.rules == {
        "carriers": ["JDVA", "SF", "京东物流", "顺丰速运"],
        "per_order": "0.50",
        "per_order_special": "1.00",
    }
    assert logistics.merchant_year_cap == Decimal("500000.00")
    brand = SubsidyProgramme.objects.get(code="brand-incubation")
    assert (brand.budget, brand.rules) == (Decimal("50000000.00"), {"max_per_project": "500000.00"})
    assert SubsidyProgramme.objects.get(code="fit-out").rules == {"rate": "0.20", "max_amount": "1000000.00"}


# --- The admin ----------------------------------------------------------------------------

ADD = reverse("admin:settlements_subsidyprogramme_add")
CHANGELIST = reverse("admin:settlements_subsidyprogramme_changelist")


def _form(**overrides):
    data = {
        "code": "training",
        "name": "Training",
        "kind": ProgrammeKind.TRAINING,
        "rules": '{"rate": "0.80"}',
        "valid_from": "2026-01-01",
        "valid_until": "",
        "is_active": "on",
        "budget": "1000000.00",
        "merchant_year_cap": "",
    }
    data.update(overrides)
    return data


def test_operations_create_a_programme_in_the_admin(client):
    client.force_login(staff(OPERATIONS))
    response = client.post(ADD, _form())
    assert response.status_code == 302
    created = SubsidyProgramme.objects.get()
    assert (created.kind, created.rules, created.budget, created.committed) == (
        "training",
        {"rate": "0.80"},
        Decimal("1000000.00"),
        Decimal("0.00"),
    )
    page = client.get(CHANGELIST)
    assert "1,000,000.00" in page.content.decode() or "1000000.00" in page.content.decode()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"rules": '{"rate": "1.80"}'}, "rate: A rate is a fraction above 0 and at most 1"),
        ({"rules": '{"rate": "0.8", "cap": "1"}'}, "cap: This programme kind has no such parameter."),
        ({"rules": "[1, 2]"}, "The rule parameters are a JSON object."),
        ({"valid_until": "2025-12-31"}, ""),
    ],
)
def test_the_admin_refuses_bad_parameters_and_saves_nothing(client, overrides, error):
    client.force_login(staff(OPERATIONS))
    response = client.post(ADD, _form(**overrides))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    if error:
        assert error in response.content.decode()
    assert SubsidyProgramme.objects.count() == 0


@pytest.mark.parametrize(
    ("who", "changelist", "add"),
    [(None, 302, 302), ("buyer", 302, 302), (REVIEWER, 403, 403), (FINANCE, 200, 403), (OPERATIONS, 200, 200)],
)
def test_who_may_see_and_create_programmes(client, who, changelist, add):
    if who == "buyer":
        client.force_login(UserFactory())
    elif who:
        client.force_login(staff(who))
    assert client.get(CHANGELIST).status_code == changelist
    assert client.get(ADD).status_code == add
    before = SubsidyProgramme.objects.count()
    if add != 200:
        client.post(ADD, _form())
        assert SubsidyProgramme.objects.count() == before


def test_a_programme_cannot_be_deleted(client):
    pool = programme()
    client.force_login(staff(OPERATIONS))
    url = reverse("admin:settlements_subsidyprogramme_delete", args=[pool.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert SubsidyProgramme.objects.filter(pk=pool.pk).exists()
