"""Grant applications (issue #14): a merchant applies with documents (checked as merchants'
documents are), staff approve the amount the rule computes and caps, reserving it from the
pool atomically (50 racing approvals never over-commit it), or refuse with a reason; an
approved grant is paid in the merchant's next statement, once, and the pool shows committed,
paid and remaining; the ledger takes it as the platform's subsidy expense."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from marketplace.errors import InvalidTransition
from merchants.errors import MerchantError
from settlements import selectors, services
from settlements.choices import AccountKind, GrantStatus, LineKind, ProgrammeKind
from settlements.models import GrantApplication, GrantDocument, JournalEntry, Statement, SubsidyProgramme
from settlements.services import subsidies
from settlements.services.subsidies import SubsidyConflict, SubsidyError
from tests.catalog.factories import live_merchant
from tests.factories import UserFactory, no_decoding, png_bomb
from tests.merchants.factories import PDF_BYTES
from tests.settlements.test_runs import _lines, _settle, at

pytestmark = pytest.mark.django_db

DECIDED = at(2026, 10, 20, 10)


def pdf(name="invoice.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def grant_programme(kind=ProgrammeKind.FIT_OUT, *, budget=None, cap=None, **rules):
    defaults = {
        ProgrammeKind.FIT_OUT: {"rate": "0.20", "max_amount": "1000000.00"},
        ProgrammeKind.EQUIPMENT: {"min_rate": "0.10", "max_rate": "0.15"},
        ProgrammeKind.TRAINING: {"rate": "0.80"},
        ProgrammeKind.BRAND_INCUBATION: {"max_per_project": "500000.00"},
    }[kind]
    return subsidies.programme_save(
        programme=SubsidyProgramme(
            code=f"{kind}-{SubsidyProgramme.objects.count()}",
            name=str(kind),
            kind=kind,
            rules={**defaults, **rules},
            valid_from=datetime.date(2026, 1, 1),
            budget=Decimal(budget) if budget else None,
            merchant_year_cap=Decimal(cap) if cap else None,
        ),
        actor=None,
    )


def apply(programme, merchant=None, *, invoiced=None, requested=None, documents=None):
    merchant = merchant or live_merchant()[0]
    brand = programme.kind == ProgrammeKind.BRAND_INCUBATION  # a regionally certified brand
    return subsidies.grant_apply(
        merchant=merchant,
        programme=programme,
        actor=merchant.owner,
        project="Shop fit-out",
        invoiced_amount=invoiced,
        requested_amount=requested,
        documents=documents if documents is not None else [pdf()],
        certification=pdf("certificate.pdf") if brand else None,
        certification_region="浙江省" if brand else "",
    )


def approve(application, **kwargs):
    with mock.patch("django.utils.timezone.now", return_value=DECIDED):
        return subsidies.grant_approve(application=application, actor=UserFactory(is_staff=True), **kwargs)


def pool(programme):
    programme.refresh_from_db()
    return programme.committed, programme.paid, programme.remaining


# --- Applying -----------------------------------------------------------------------------


def test_a_merchant_applies_with_its_invoices():
    application = apply(grant_programme(), invoiced="250000.00", documents=[pdf("a.pdf"), pdf("b.pdf")])
    assert (application.status, application.invoiced_amount, application.documents.count()) == (
        GrantStatus.SUBMITTED,
        Decimal("250000.00"),
        2,
    )
    document = application.documents.first()
    assert (document.content_type, document.original_name, document.size) == (
        "application/pdf",
        "a.pdf",
        len(PDF_BYTES),
    )
    assert document.file.read() == PDF_BYTES


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"invoiced": None}, "invalid_invoiced_amount"),
        ({"invoiced": "-5"}, "invalid_invoiced_amount"),
        ({"invoiced": "1.005"}, "invalid_invoiced_amount"),
        ({"invoiced": "100.00", "documents": []}, "documents_required"),
        ({"invoiced": "100.00", "documents": [pdf()] * 11}, "too_many_documents"),
        (
            {"invoiced": "100.00", "documents": [pdf(), SimpleUploadedFile("x.pdf", b"MZ not a pdf")]},
            "file_type_not_allowed",
        ),
    ],
)
def test_a_bad_application_is_refused_and_nothing_is_written(kwargs, code):
    programme = grant_programme()
    with pytest.raises((SubsidyError, MerchantError)) as caught:
        apply(programme, **kwargs)
    assert caught.value.code == code
    assert (GrantApplication.objects.count(), GrantDocument.objects.count()) == (0, 0)


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    bomb = SimpleUploadedFile("scan.png", png_bomb(), content_type="image/png")
    programme, merchant = grant_programme(), live_merchant()[0]
    with no_decoding() as load, pytest.raises(MerchantError) as caught:
        apply(programme, merchant, invoiced="100.00", documents=[bomb])
    assert caught.value.code == "image_too_large"
    load.assert_not_called()
    assert GrantApplication.objects.count() == 0


def test_a_closed_or_accrual_programme_takes_no_application():
    closed = grant_programme()
    SubsidyProgramme.objects.filter(pk=closed.pk).update(valid_until=datetime.date(2026, 1, 31))
    closed.refresh_from_db()
    with pytest.raises(SubsidyConflict) as caught:
        apply(closed, invoiced="100.00")
    assert caught.value.code == "programme_closed"
    brand = grant_programme(ProgrammeKind.BRAND_INCUBATION, budget="1000000")
    with pytest.raises(SubsidyError) as caught:
        apply(brand)  # brand incubation: the amount requested is required
    assert caught.value.code == "invalid_requested_amount"
    assert GrantApplication.objects.count() == 0


# --- Approving ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "invoiced", "requested", "rate", "approved"),
    [
        # fit-out: 20 % of 250,000.00 = 50,000.00
        (ProgrammeKind.FIT_OUT, "250000.00", None, None, "50000.00"),
        # fit-out: 20 % of 6,000,000.00 = 1,200,000.00, capped at 1,000,000.00
        (ProgrammeKind.FIT_OUT, "6000000.00", None, None, "1000000.00"),
        # equipment: 12 % of 333,333.33 = 39,999.9996 → 40,000.00 (half-up)
        (ProgrammeKind.EQUIPMENT, "333333.33", None, "0.12", "40000.00"),
        # equipment without a rate: the highest, 15 % of 100,000.00 = 15,000.00
        (ProgrammeKind.EQUIPMENT, "100000.00", None, None, "15000.00"),
        # training: 80 % of 1,234.56 = 987.648 → 987.65
        (ProgrammeKind.TRAINING, "1234.56", None, None, "987.65"),
        # brand incubation: the 800,000.00 requested, capped at 500,000.00 per project
        (ProgrammeKind.BRAND_INCUBATION, None, "800000.00", None, "500000.00"),
    ],
)
def test_approval_grants_what_the_rule_computes_and_caps(kind, invoiced, requested, rate, approved):
    programme = grant_programme(kind, budget="50000000")
    application = apply(programme, invoiced=invoiced, requested=requested)
    done = approve(application, rate=rate)
    assert (done.status, done.approved_amount, done.decided_at) == (GrantStatus.APPROVED, Decimal(approved), DECIDED)
    assert done.decided_by.is_staff
    assert pool(programme) == (Decimal(approved), Decimal("0.00"), Decimal("50000000.00") - Decimal(approved))


def test_staff_may_approve_less_never_more_and_an_equipment_rate_stays_in_its_range():
    programme = grant_programme(ProgrammeKind.EQUIPMENT)
    application = apply(programme, invoiced="100000.00")
    for kwargs, code in [
        ({"rate": "0.16"}, "invalid_rate"),
        ({"rate": "0.09"}, "invalid_rate"),
        ({"amount": "15000.01"}, "grant_amount_above_rule"),
        ({"amount": "0"}, "invalid_amount"),
    ]:
        with pytest.raises(SubsidyError) as caught:
            approve(application, **kwargs)
        assert caught.value.code == code
    application.refresh_from_db()
    assert (application.status, application.approved_amount) == (GrantStatus.SUBMITTED, None)
    assert approve(application, amount="9000.00").approved_amount == Decimal("9000.00")


def test_the_merchants_yearly_cap_limits_the_approvals():
    programme = grant_programme(ProgrammeKind.TRAINING, cap="1000.00")
    merchant = live_merchant()[0]
    first = approve(apply(programme, merchant, invoiced="1000.00"))  # 80 % = 800.00
    second = approve(apply(programme, merchant, invoiced="1000.00"))  # 800.00, 200.00 left of the cap
    assert (first.approved_amount, second.approved_amount) == (Decimal("800.00"), Decimal("200.00"))
    third = apply(programme, merchant, invoiced="1000.00")
    with pytest.raises(SubsidyConflict) as caught:
        approve(third)
    assert caught.value.code == "grant_nothing_to_approve"
    third.refresh_from_db()
    assert third.status == GrantStatus.SUBMITTED


def test_an_approval_that_does_not_fit_the_pool_is_refused_and_changes_nothing():
    programme = grant_programme(budget="60000.00")
    approve(apply(programme, invoiced="250000.00"))  # 50,000.00
    late = apply(programme, invoiced="250000.00")
    with pytest.raises(SubsidyConflict) as caught:
        approve(late)
    assert (caught.value.code, caught.value.status_code) == ("subsidy_pool_exhausted", 409)
    assert caught.value.extra == {"remaining": "10000.00", "amount": "50000.00"}
    late.refresh_from_db()
    assert (late.status, late.approved_amount) == (GrantStatus.SUBMITTED, None)
    assert pool(programme) == (Decimal("50000.00"), Decimal("0.00"), Decimal("10000.00"))


def test_refusal_needs_a_reason_and_a_decided_application_cannot_be_decided_again():
    programme = grant_programme()
    application = apply(programme, invoiced="100.00")
    with pytest.raises(SubsidyError) as caught:
        subsidies.grant_refuse(application=application, actor=UserFactory(), reason="  ")
    assert caught.value.code == "reason_required"
    refused = subsidies.grant_refuse(application=application, actor=UserFactory(), reason="Invoices unreadable")
    assert (refused.status, refused.refusal_reason) == (GrantStatus.REFUSED, "Invoices unreadable")
    with pytest.raises(InvalidTransition):
        approve(refused)
    assert pool(programme) == (Decimal("0.00"), Decimal("0.00"), None)


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_approvals_against_a_pool_with_room_for_ten():
    # Brand incubation, each project 100,000.00, pool 1,000,000.00: room for exactly ten.
    programme = grant_programme(ProgrammeKind.BRAND_INCUBATION, budget="1000000.00")
    merchant = live_merchant()[0]
    applications = [apply(programme, merchant, requested="100000.00") for _ in range(50)]
    staff = UserFactory(is_staff=True)
    results: list[str] = []
    barrier = threading.Barrier(50)

    def decide(application):
        try:
            barrier.wait()
            subsidies.grant_approve(application=application, actor=staff)
            results.append("approved")
        except SubsidyConflict as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(a,)) for a in applications]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == ["approved"] * 10 + ["subsidy_pool_exhausted"] * 40
    assert GrantApplication.objects.filter(status=GrantStatus.APPROVED).count() == 10
    assert GrantApplication.objects.filter(status=GrantStatus.SUBMITTED).count() == 40
    assert pool(programme) == (Decimal("1000000.00"), Decimal("0.00"), Decimal("0.00"))


# --- Paid in the next statement -----------------------------------------------------------


def test_an_approved_grant_is_paid_once_in_the_next_statement_and_posted_as_a_subsidy():
    programme = grant_programme(budget="100000.00")
    merchant = live_merchant()[0]
    grant = approve(apply(programme, merchant, invoiced="250000.00"))  # 50,000.00 on 2026-10-20
    pending = apply(programme, merchant, invoiced="1000.00")  # never decided: not paid

    _settle("2026-10", now=at(2026, 11, 1, 1))
    october = Statement.objects.get(merchant=merchant, period="2026-10")
    # A merchant with no order: the statement holds the grant only (kept), payable 50,000.00.
    assert _lines(october) == {"grant_subsidy": Decimal("50000.00")}
    assert october.payable == Decimal("50000.00")
    grant.refresh_from_db()
    pending.refresh_from_db()
    assert (grant.status, grant.statement) == (GrantStatus.PAID, october)
    assert (pending.status, pending.statement) == (GrantStatus.SUBMITTED, None)
    assert pool(programme) == (Decimal("0.00"), Decimal("50000.00"), Decimal("50000.00"))
    assert list(selectors.statement_grants(october)) == [grant]

    # A rerun pays nothing twice; the next month has nothing for this merchant.
    _settle("2026-10", now=at(2026, 11, 2, 1))
    _settle("2026-11", now=at(2026, 12, 1, 1))
    assert not Statement.objects.filter(merchant=merchant, period="2026-11").exists()
    assert pool(programme) == (Decimal("0.00"), Decimal("50000.00"), Decimal("50000.00"))

    services.statement_approve(statement=october, actor=UserFactory())
    postings = dict(JournalEntry.objects.get(statement=october).postings.values_list("account__kind", "amount"))
    assert postings == {
        AccountKind.SUBSIDY_EXPENSE: Decimal("50000.00"),
        AccountKind.MERCHANT_PAYABLE: Decimal("-50000.00"),
    }
    assert selectors.reconcile(period="2026-10").sections["ledger"]["differences"] == []
    assert october.lines.get(kind=LineKind.GRANT_SUBSIDY).count == 1


def test_a_grant_approved_after_the_period_ended_waits_for_the_next_statement():
    programme = grant_programme()
    merchant = live_merchant()[0]
    application = apply(programme, merchant, invoiced="1000.00")
    with mock.patch("django.utils.timezone.now", return_value=at(2026, 11, 1, 0, 30)):
        subsidies.grant_approve(application=application, actor=UserFactory(is_staff=True))
    _settle("2026-10", now=at(2026, 11, 1, 1))
    assert not Statement.objects.filter(merchant=merchant, period="2026-10").exists()
    _settle("2026-11", now=at(2026, 12, 1, 1))
    assert _lines(Statement.objects.get(merchant=merchant, period="2026-11")) == {"grant_subsidy": Decimal("200.00")}


# --- The admin ----------------------------------------------------------------------------


def _operations():
    from django.contrib.auth.models import Group

    from marketplace.roles import OPERATIONS

    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=OPERATIONS))
    return user


def test_operations_approve_in_the_admin_and_the_pool_is_reserved(client):
    programme = grant_programme(budget="100000.00")
    application = apply(programme, invoiced="250000.00")
    client.force_login(_operations())
    url = f"/admin/settlements/grantapplication/{application.pk}/approve/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "¥50,000.00" in page  # what the rule allows
    response = client.post(url, {"amount": "", "rate": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.approved_amount) == (GrantStatus.APPROVED, Decimal("50000.00"))
    assert pool(programme) == (Decimal("50000.00"), Decimal("0.00"), Decimal("50000.00"))


def test_an_amount_above_the_rule_is_shown_on_the_form_and_nothing_changes(client):
    programme = grant_programme(budget="100000.00")
    application = apply(programme, invoiced="250000.00")
    client.force_login(_operations())
    url = f"/admin/settlements/grantapplication/{application.pk}/approve/"
    response = client.post(url, {"amount": "50000.01"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "The rule allows at most 50000.00 for this application." in response.content.decode()
    application.refresh_from_db()
    assert application.status == GrantStatus.SUBMITTED
    assert pool(programme) == (Decimal("0.00"), Decimal("0.00"), Decimal("100000.00"))


def test_finance_reads_applications_but_cannot_decide(client):
    from django.contrib.auth.models import Group

    from marketplace.roles import FINANCE

    application = apply(grant_programme(), invoiced="1000.00")
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=FINANCE))
    client.force_login(user)
    assert client.get(f"/admin/settlements/grantapplication/{application.pk}/change/").status_code == 200
    document = application.documents.get()
    download = client.get(f"/admin/settlements/grantapplication/documents/{document.pk}/")
    assert (download.status_code, b"".join(download.streaming_content)) == (200, PDF_BYTES)
    for action in ("approve", "refuse"):
        response = client.post(f"/admin/settlements/grantapplication/{application.pk}/{action}/", {"reason": "x"})
        assert response.status_code == 403
    application.refresh_from_db()
    assert application.status == GrantStatus.SUBMITTED


def test_operations_refuse_with_a_reason_in_the_admin(client):
    application = apply(grant_programme(), invoiced="1000.00")
    client.force_login(_operations())
    response = client.post(
        f"/admin/settlements/grantapplication/{application.pk}/refuse/", {"reason": "Invoices unreadable"}
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.refusal_reason) == (GrantStatus.REFUSED, "Invoices unreadable")
