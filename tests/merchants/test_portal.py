import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from merchants.choices import MerchantStatus
from merchants.models import DepositEntry, Merchant, MerchantDocument, MerchantMember
from tests.factories import UserFactory, no_decoding, png_bomb
from tests.merchants.factories import (
    PDF_BYTES,
    category,
    draft_application,
    merchant_in_state,
    png_bytes,
    png_upload,
    valid_uscc,
)

pytestmark = pytest.mark.django_db

EXE_AS_PNG = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def _login(client, user):
    client.force_login(user)
    return client


def _member(merchant, role):
    user = UserFactory()
    MerchantMember.objects.create(merchant=merchant, user=user, role=role)
    return user


# --- Wizard -----------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client):
    for url in ["/portal/", "/portal/apply/company/", "/portal/deposit/", "/portal/members/", "/portal/documents/1/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next=")


def test_a_buyer_sees_the_landing_page_and_no_merchant_page(client):
    _login(client, UserFactory())
    response = client.get("/portal/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Start my application" in response.content.decode()
    for url in ["/portal/application/", "/portal/contract/", "/portal/deposit/", "/portal/members/", "/portal/shop/"]:
        assert client.get(url).status_code == 404, url
    # Later steps of the wizard send a first-time applicant back to the first one.
    assert client.get("/portal/apply/bank/")["Location"] == "/portal/apply/company/"


def test_the_wizard_saves_each_step_and_submits(client):
    owner = UserFactory()
    cat = category("Kitchen")
    _login(client, owner)
    response = client.post(
        "/portal/apply/company/",
        {
            "company_name": "Suzhou Silk Co., Ltd.",
            "shop_name": "Suzhou Silk",
            "social_credit_code": valid_uscc().lower(),
            "legal_rep_name": "Wu Hua",
            "legal_rep_id_number": "11010519491231002x",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/portal/apply/business/"
    merchant = Merchant.objects.get(owner=owner)
    assert (merchant.status, merchant.shop_name, merchant.legal_rep_id_number) == (
        "draft",
        "Suzhou Silk",
        "11010519491231002X",
    )
    assert MerchantMember.objects.get(user=owner).role == "owner"

    response = client.post(
        "/portal/apply/business/",
        {
            "contact_name": "Wu Hua",
            "contact_phone": "13900001111",
            "contact_email": "wu@silk.example.com",
            "requested_category_ids": [str(cat.pk)],
            "sales_regions": ["east", "north"],
            "cooperation_mode": "platform_entry",
            "requested_tier": "",
        },
    )
    assert response.status_code == 400  # the tier is required
    from merchants.models import Tier

    response = client.post(
        "/portal/apply/business/",
        {
            "contact_name": "Wu Hua",
            "contact_phone": "13900001111",
            "contact_email": "wu@silk.example.com",
            "requested_category_ids": [str(cat.pk)],
            "sales_regions": ["east", "north"],
            "cooperation_mode": "platform_entry",
            "requested_tier": str(Tier.objects.get(code="potential").pk),
            "sells_manufactured_goods": "on",
        },
    )
    assert response.status_code == 302
    response = client.post(
        "/portal/apply/bank/",
        {
            "bank_account_name": "Suzhou Silk Co., Ltd.",
            "bank_name": "BOC Suzhou",
            "bank_account_number": "6217 0000 1111 2222",
        },
    )
    assert response["Location"] == "/portal/apply/documents/"
    merchant.refresh_from_db()
    assert merchant.bank_account_number == "6217000011112222"
    assert merchant.sales_regions == ["east", "north"]

    # Submitting now fails: documents are missing (business licence and production licence).
    response = client.post("/portal/apply/submit/", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "The application is not complete yet" in response.content.decode()
    merchant.refresh_from_db()
    assert merchant.status == "draft"

    for kind, upload in [
        ("business_licence", SimpleUploadedFile("licence.png", png_bytes(), content_type="image/png")),
        ("production_licence", SimpleUploadedFile("prod.pdf", PDF_BYTES, content_type="application/pdf")),
    ]:
        response = client.post("/portal/apply/documents/", {"kind": kind, "file": upload})
        assert response.status_code == 302, response.content
    review = client.get("/portal/apply/review/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Your application is complete and can be submitted." in review.content.decode()
    assert "6217000011112222" not in review.content.decode()
    assert "•••• 2222" in review.content.decode()

    response = client.post("/portal/apply/submit/")
    assert response["Location"] == "/portal/"
    merchant.refresh_from_db()
    assert merchant.status == "submitted"
    # A submitted application is read-only: the wizard sends the owner to the summary.
    assert client.get("/portal/apply/company/")["Location"] == "/portal/application/"


def test_saved_sensitive_numbers_are_kept_when_left_empty(client):
    merchant = draft_application()
    _login(client, merchant.owner)
    page = client.get("/portal/apply/bank/").content.decode()
    assert "6222021234567890" not in page
    assert "•••• 7890" in page
    client.post(
        "/portal/apply/bank/", {"bank_account_name": "New holder", "bank_name": "ICBC", "bank_account_number": ""}
    )
    merchant.refresh_from_db()
    assert (merchant.bank_account_name, merchant.bank_account_number) == ("New holder", "6222021234567890")


def test_invalid_credit_code_is_shown_on_the_form_and_nothing_is_created(client):
    owner = UserFactory()
    _login(client, owner)
    response = client.post(
        "/portal/apply/company/",
        {
            "company_name": "X",
            "social_credit_code": "91310000000000001X",
            "legal_rep_name": "Y",
            "legal_rep_id_number": "11010519491231002X",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "The check character of this unified social credit code is wrong" in response.content.decode()
    assert Merchant.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (EXE_AS_PNG, "licence.png", "Only PDF, PNG and JPEG files are accepted"),
        (b"%PDF-1.4 truncated", "licence.pdf", "The PDF is incomplete or damaged"),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "broken.png", "The image could not be read"),
    ],
)
def test_bad_documents_are_refused_with_a_clear_error(client, content, name, message):
    merchant = draft_application(with_documents=False)
    _login(client, merchant.owner)
    response = client.post(
        "/portal/apply/documents/",
        {"kind": "business_licence", "file": SimpleUploadedFile(name, content)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert MerchantDocument.objects.count() == 0


def test_a_12000_by_12000_png_document_is_refused_before_it_is_decoded(client):
    merchant = draft_application(with_documents=False)
    _login(client, merchant.owner)
    with no_decoding() as load:
        response = client.post(
            "/portal/apply/documents/",
            {"kind": "business_licence", "file": SimpleUploadedFile("licence.png", png_bomb())},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 400
    assert "The image is larger than 40 megapixels. Scale it down and upload it again." in response.content.decode()
    assert MerchantDocument.objects.count() == 0
    assert load.call_count == 0


def test_documents_over_10_mb_are_refused(client, settings):
    settings.MERCHANT_DOCUMENT_MAX_BYTES = 1024
    merchant = draft_application(with_documents=False)
    _login(client, merchant.owner)
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4" + b"0" * 2000 + b"%%EOF")
    response = client.post(
        "/portal/apply/documents/", {"kind": "business_licence", "file": big}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "The file is larger than" in response.content.decode()
    assert MerchantDocument.objects.count() == 0


def test_images_are_reencoded_so_only_pixels_are_stored(client):
    merchant = draft_application(with_documents=False)
    payload = png_bytes() + b"<?php echo 'hidden'; ?>"
    _login(client, merchant.owner)
    client.post(
        "/portal/apply/documents/",
        {"kind": "business_licence", "file": SimpleUploadedFile("licence.png", payload)},
    )
    document = MerchantDocument.objects.get()
    stored = document.file.read()
    assert b"<?php" not in stored
    assert Image.open(io.BytesIO(stored)).size == (40, 30)
    assert document.original_name == "licence.png"
    assert "licence" not in document.file.name  # generated name


# --- Documents are private -------------------------------------------------------------


def _staff(*groups, **fields):
    user = UserFactory(is_staff=True, **fields)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


# Who may open an identity document: its owner, and staff holding the document view
# declaration (merchants.document_view: reviewers, operations, superusers). Members whose role
# does not cover the application, other merchants and buyers get 404 like a missing id; staff
# without the declaration (finance, staff of no group) get 403, as in the admin.
DOCUMENT_READERS = {
    "owner": 200,
    "catalog_member": 404,
    "orders_member": 404,
    "finance_member": 404,
    "other_owner": 404,
    "buyer": 404,
    "reviewer": 200,
    "operations": 200,
    "superuser": 200,
    "finance_staff": 403,
    "plain_staff": 403,
}


def _identity(name, merchant):
    return {
        "owner": lambda: merchant.owner,
        "catalog_member": lambda: _member(merchant, "catalog"),
        "orders_member": lambda: _member(merchant, "orders"),
        "finance_member": lambda: _member(merchant, "finance"),
        "other_owner": lambda: draft_application().owner,
        "buyer": lambda: UserFactory(),
        "reviewer": lambda: _staff("reviewer"),
        "operations": lambda: _staff("operations"),
        "superuser": lambda: UserFactory(is_staff=True, is_superuser=True),
        "finance_staff": lambda: _staff("finance"),
        "plain_staff": lambda: _staff(),
    }[name]()


@pytest.mark.parametrize(("who", "status"), list(DOCUMENT_READERS.items()))
def test_identity_documents_are_served_only_to_the_owner_and_allowed_staff(client, who, status):
    merchant = merchant_in_state(MerchantStatus.LIVE)
    document = MerchantDocument.objects.filter(merchant=merchant).order_by("pk").first()
    url = f"/portal/documents/{document.pk}/"

    _login(client, _identity(who, merchant))
    response = client.get(url)

    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == document.content_type
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cache-Control"] == "private, no-store"
        assert b"".join(response.streaming_content) == document.file.open("rb").read()
    else:
        assert not hasattr(response, "streaming_content")
    # Nobody's visit removes or changes it.
    assert MerchantDocument.objects.filter(merchant=merchant).count() == merchant.documents.count()
    assert MerchantDocument.objects.get(pk=document.pk).sha256 == document.sha256


@pytest.mark.parametrize("who", ["reviewer", "owner", "other_owner"])
def test_a_missing_document_is_not_found(client, who):
    merchant = merchant_in_state(MerchantStatus.LIVE)
    _login(client, _identity(who, merchant))
    missing = MerchantDocument.objects.order_by("-pk").first().pk + 1
    assert client.get(f"/portal/documents/{missing}/").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in_for_a_document(client):
    document = MerchantDocument.objects.filter(merchant=draft_application()).first()
    response = client.get(f"/portal/documents/{document.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_documents_cannot_be_deleted_by_another_merchant(client):
    merchant = draft_application()
    document = MerchantDocument.objects.get(merchant=merchant)
    _login(client, draft_application().owner)
    assert client.post(f"/portal/documents/{document.pk}/delete/").status_code == 404
    assert MerchantDocument.objects.filter(pk=document.pk).exists()


def test_the_admin_lists_documents_only_to_staff_who_may_open_them(client):
    merchant = merchant_in_state(MerchantStatus.SUBMITTED)
    document = MerchantDocument.objects.filter(merchant=merchant).first()
    link = f'href="/portal/documents/{document.pk}/"'
    page = f"/admin/merchants/merchant/{merchant.pk}/change/"

    _login(client, _staff("reviewer"))
    assert link in client.get(page).content.decode()
    _login(client, _staff("finance"))  # may see the merchant, not its identity documents
    response = client.get(page)
    assert response.status_code == 200
    assert link not in response.content.decode()


# --- Roles ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("catalog", ["/portal/", "/portal/shop/"], ["/portal/deposit/", "/portal/members/", "/portal/contract/"]),
        ("orders", ["/portal/"], ["/portal/deposit/", "/portal/members/", "/portal/shop/", "/portal/application/"]),
        ("finance", ["/portal/", "/portal/deposit/"], ["/portal/members/", "/portal/shop/", "/portal/contract/"]),
        (
            "owner",
            [
                "/portal/",
                "/portal/deposit/",
                "/portal/members/",
                "/portal/shop/",
                "/portal/contract/",
                "/portal/application/",
            ],
            [],
        ),
    ],
)
def test_each_role_sees_only_its_part_of_the_portal(client, role, allowed, refused):
    merchant = merchant_in_state(MerchantStatus.LIVE)
    user = merchant.owner if role == "owner" else _member(merchant, role)
    _login(client, user)
    for url in allowed:
        assert client.get(url).status_code == 200, url
    for url in refused:
        assert client.get(url).status_code == 404, url


def test_staff_without_a_merchant_get_404_in_the_portal(client):
    _login(client, UserFactory(is_staff=True))
    assert client.get("/portal/deposit/").status_code == 404


# --- Contract, deposit, go live -----------------------------------------------------------


def test_contract_acceptance_sandbox_deposit_and_going_live(client):
    merchant = merchant_in_state(MerchantStatus.APPROVED, tier_code="potential")
    _login(client, merchant.owner)
    page = client.get("/portal/contract/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Accept the contract" in page
    assert "T+15" in page
    assert client.post("/portal/contract/")["Location"] == "/portal/deposit/"
    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.CONTRACT_SIGNED

    page = client.get("/portal/deposit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "¥20,000.00" in page
    # A double click posts the same key twice: one payment.
    client.post("/portal/deposit/pay/", {"payment_key": "k" * 32})
    client.post("/portal/deposit/pay/", {"payment_key": "k" * 32})
    assert list(DepositEntry.objects.filter(merchant=merchant).values_list("amount", "reference")) == [
        (Decimal("20000.00"), "sandbox-" + "k" * 32)
    ]
    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.DEPOSIT_PAID

    client.post("/portal/go-live/")
    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.LIVE
    assert merchant.live_since is not None


def test_a_finance_member_cannot_accept_the_contract_or_go_live(client):
    merchant = merchant_in_state(MerchantStatus.APPROVED)
    _login(client, _member(merchant, "finance"))
    assert client.post("/portal/contract/").status_code == 404
    assert client.post("/portal/go-live/").status_code == 404
    merchant.refresh_from_db()
    assert merchant.status == MerchantStatus.APPROVED


# --- Members -----------------------------------------------------------------------------


def test_owner_invites_changes_roles_and_removes_members(client):
    merchant = merchant_in_state(MerchantStatus.LIVE)
    _login(client, merchant.owner)
    response = client.post("/portal/members/", {"email": "new@example.com", "role": "catalog"})
    assert response.status_code == 302
    invitation = merchant.invitations.get()
    assert (invitation.email, invitation.role) == ("new@example.com", "catalog")

    newcomer = UserFactory(email="new@example.com")
    _login(client, newcomer)
    assert client.get(f"/portal/invitations/{invitation.token}/").status_code == 200
    client.post(f"/portal/invitations/{invitation.token}/")
    member = MerchantMember.objects.get(user=newcomer)
    assert (member.merchant_id, member.role) == (merchant.pk, "catalog")

    _login(client, merchant.owner)
    client.post(f"/portal/members/{member.pk}/role/", {"role": "finance"})
    member.refresh_from_db()
    assert member.role == "finance"
    client.post(f"/portal/members/{member.pk}/remove/")
    assert not MerchantMember.objects.filter(pk=member.pk).exists()


def test_another_merchants_members_cannot_be_touched(client):
    merchant = merchant_in_state(MerchantStatus.LIVE)
    victim_user = _member(merchant, "orders")
    victim = MerchantMember.objects.get(user=victim_user)
    other = merchant_in_state(MerchantStatus.LIVE)
    _login(client, other.owner)
    assert client.post(f"/portal/members/{victim.pk}/role/", {"role": "finance"}).status_code == 404
    assert client.post(f"/portal/members/{victim.pk}/remove/").status_code == 404
    victim.refresh_from_db()
    assert victim.role == "orders"


def test_inviting_an_existing_member_shows_an_error(client):
    merchant = merchant_in_state(MerchantStatus.LIVE)
    other = merchant_in_state(MerchantStatus.LIVE)
    _login(client, merchant.owner)
    response = client.post(
        "/portal/members/", {"email": other.owner.email, "role": "catalog"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "This person already belongs to a merchant." in response.content.decode()
    assert merchant.invitations.count() == 0


# --- Shop page -------------------------------------------------------------------------


def test_shop_settings_logo_and_public_page(client):
    merchant = merchant_in_state(MerchantStatus.LIVE)
    _login(client, merchant.owner)
    big = io.BytesIO()
    Image.new("RGB", (1200, 800), (0, 120, 60)).save(big, format="JPEG")
    response = client.post(
        "/portal/shop/",
        {
            "shop_name": "Bright Home Flagship",
            "description": "Lamps and kitchenware",
            "logo": SimpleUploadedFile("logo.jpg", big.getvalue()),
        },
    )
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert merchant.shop_name == "Bright Home Flagship"
    assert Image.open(merchant.logo.open("rb")).size == (512, 341)

    client.logout()
    page = client.get(f"/shops/{merchant.slug}/")
    assert page.status_code == 200
    assert "Bright Home Flagship" in page.content.decode()
    assert "6222021234567890" not in page.content.decode()
    logo = client.get(f"/shops/{merchant.slug}/logo/")
    assert (logo.status_code, logo["Content-Type"]) == (200, "image/png")


def test_a_bad_logo_changes_nothing(client):
    merchant = merchant_in_state(MerchantStatus.LIVE)
    _login(client, merchant.owner)
    response = client.post(
        "/portal/shop/",
        {"shop_name": "Renamed", "description": "", "logo": SimpleUploadedFile("logo.png", EXE_AS_PNG)},
    )
    assert response.status_code == 400
    merchant.refresh_from_db()
    assert (merchant.shop_name, bool(merchant.logo)) == ("Bright Home", False)


def test_a_12000_by_12000_logo_is_refused_before_it_is_decoded(client):
    merchant = merchant_in_state(MerchantStatus.LIVE)
    _login(client, merchant.owner)
    with no_decoding() as load:
        response = client.post(
            "/portal/shop/",
            {"shop_name": "Renamed", "description": "", "logo": SimpleUploadedFile("logo.png", png_bomb())},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 400
    assert "The image is larger than 40 megapixels." in response.content.decode()
    merchant.refresh_from_db()
    assert (merchant.shop_name, bool(merchant.logo)) == ("Bright Home", False)
    assert load.call_count == 0


@pytest.mark.parametrize("status", [MerchantStatus.SUSPENDED, MerchantStatus.APPROVED, MerchantStatus.TERMINATED])
def test_only_live_shops_are_public(client, status):
    merchant = merchant_in_state(status)
    assert client.get(f"/shops/{merchant.slug}/").status_code == 404


def test_png_upload_helper_is_a_real_png():
    assert png_upload().read(8) == b"\x89PNG\r\n\x1a\n"
