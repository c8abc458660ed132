"""Brand incubation is for regionally certified brands (domain.md "Incentive subsidies",
issue #14): an application carries the brand's certification (a document checked as the
others are) and the region that issued it; without either it is refused with a code and
nothing is written; reviewers see both in the admin, the merchant in the portal and the API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from merchants.errors import MerchantError
from settlements.choices import GrantDocumentKind, ProgrammeKind
from settlements.models import GrantApplication, GrantDocument
from settlements.services import subsidies
from settlements.services.subsidies import SubsidyError
from tests.catalog.factories import live_merchant
from tests.settlements.test_subsidy_grants import _operations, grant_programme, pdf

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def _apply(programme, merchant, **kwargs):
    return subsidies.grant_apply(
        merchant=merchant,
        programme=programme,
        actor=merchant.owner,
        project="龙井茶品牌孵化",
        requested_amount="300000.00",
        documents=[pdf("plan.pdf")],
        **kwargs,
    )


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({}, "certification_region_required"),
        ({"certification": pdf("certificate.pdf"), "certification_region": "  "}, "certification_region_required"),
        ({"certification_region": "浙江省"}, "certification_required"),
        ({"certification": pdf("c.pdf"), "certification_region": "省" * 101}, "certification_region_too_long"),
        (
            {"certification": SimpleUploadedFile("c.pdf", b"MZ not a pdf"), "certification_region": "浙江省"},
            "file_type_not_allowed",
        ),
    ],
)
def test_a_brand_incubation_application_without_its_certification_is_refused(kwargs, code):
    programme = grant_programme(ProgrammeKind.BRAND_INCUBATION)
    merchant = live_merchant()[0]
    with pytest.raises((SubsidyError, MerchantError)) as caught:
        _apply(programme, merchant, **kwargs)
    assert caught.value.code == code
    assert (GrantApplication.objects.count(), GrantDocument.objects.count()) == (0, 0)


def test_the_certification_is_kept_and_reviewers_see_it(client):
    programme = grant_programme(ProgrammeKind.BRAND_INCUBATION)
    merchant = live_merchant()[0]
    application = _apply(programme, merchant, certification=pdf("certificate.pdf"), certification_region=" 浙江省 ")
    assert application.certification_region == "浙江省"
    assert list(application.documents.order_by("pk").values_list("kind", "original_name")) == [
        (GrantDocumentKind.SUPPORTING, "plan.pdf"),
        (GrantDocumentKind.BRAND_CERTIFICATION, "certificate.pdf"),
    ]
    client.force_login(_operations())
    page = client.get(f"/admin/settlements/grantapplication/{application.pk}/change/", **EN).content.decode()
    assert "浙江省" in page
    assert "Regional brand certification: <a" in page and "certificate.pdf</a>" in page

    client.force_login(merchant.owner)
    page = client.get(f"/portal/statements/subsidies/{application.pk}/", **EN).content.decode()
    assert "Brand certified by" in page and "浙江省" in page
    assert "certificate.pdf</a>" in page and "Regional brand certification" in page


def test_other_programmes_ignore_a_certification():
    programme = grant_programme(ProgrammeKind.FIT_OUT)
    merchant = live_merchant()[0]
    application = subsidies.grant_apply(
        merchant=merchant,
        programme=programme,
        actor=merchant.owner,
        project="Fit-out",
        invoiced_amount="1000.00",
        documents=[pdf()],
        certification=pdf("certificate.pdf"),
        certification_region="浙江省",
    )
    assert application.certification_region == ""
    assert list(application.documents.values_list("kind", flat=True)) == [GrantDocumentKind.SUPPORTING]


def test_the_portal_form_and_the_api_refuse_it_without_the_certification(client, api_client):
    programme = grant_programme(ProgrammeKind.BRAND_INCUBATION)
    merchant = live_merchant()[0]
    client.force_login(merchant.owner)
    form = {
        "programme": programme.pk,
        "project": "Brand",
        "requested_amount": "300000.00",
        "documents": [pdf("plan.pdf")],
        "certification_region": "浙江省",
    }
    response = client.post("/portal/statements/subsidies/", form, **EN)
    assert response.status_code == 400
    assert "Attach the brand&#x27;s regional certification" in response.content.decode()
    assert GrantApplication.objects.count() == 0

    api_client.force_authenticate(merchant.owner)
    url = "/api/v1/settlements/merchant/grant-applications/"
    form["documents"] = [pdf("plan.pdf")]
    response = api_client.post(url, form, format="multipart")
    assert (response.status_code, response.json()["code"]) == (400, "certification_required")
    assert (GrantApplication.objects.count(), GrantDocument.objects.count()) == (0, 0)

    form["documents"] = [pdf("plan.pdf")]
    response = api_client.post(url, {**form, "certification": pdf("certificate.pdf")}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["certification_region"] == "浙江省"
    assert [(d["kind"], d["original_name"]) for d in body["documents"]] == [
        ("supporting", "plan.pdf"),
        ("brand_certification", "certificate.pdf"),
    ]
