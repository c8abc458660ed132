"""Becoming a merchant in a real browser: sign up, the application wizard with a document
upload, staff approval in the admin, and the contract accepted in the portal."""

from __future__ import annotations

import re

from django.core import mail
from playwright.sync_api import Page, expect

from marketplace.money import format_cny
from merchants.models import Contract, Merchant, MerchantDocument, MerchantMember
from merchants.validators import uscc_check_char
from tests.factories import PASSWORD, UserFactory
from tests.merchants.factories import VALID_ID_NUMBER, png_bytes, tier
from tests.merchants.factories import category as make_category


def _label(text: str) -> re.Pattern:
    """A field's label, whole: `get_by_label(exact=True)` would also need the required-field
    star, which the label carries for sight only (aria-hidden)."""
    return re.compile(rf"^{re.escape(text)}(\s*\*)?$")


def _uscc() -> str:
    """A unified social credit code with a correct check character (like factories.valid_uscc)."""
    first17 = "91330100000123456"
    return first17 + uscc_check_char(first17)


def test_apply_upload_submit_approve_and_accept_the_contract(page: Page, new_page, tmp_path):
    appliances = make_category("Home appliances")
    make_category("Garden")
    staff = UserFactory(email="reviewer@example.com", is_staff=True, is_superuser=True)
    uscc = _uscc()
    licence = tmp_path / "licence.png"
    licence.write_bytes(png_bytes())

    # Sign up.
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("chen.ming@brighthome.example.com")
    page.get_by_label("First name").fill("Ming")
    page.get_by_label("Last name").fill("Chen")
    page.get_by_label(_label("Password")).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    # The account is created from the link in the e-mail.
    (message,) = mail.outbox
    assert message.to == ["chen.ming@brighthome.example.com"]
    page.goto(re.search(r"https?://\S+?(/accounts/signup/confirm/\S+/)", message.body).group(1))
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator(".messages")).to_contain_text("Welcome! Your account has been created.")

    # The wizard, step 1: company.
    page.goto("/portal/apply/")
    expect(page).to_have_url(re.compile(r"/portal/apply/company/$"))
    page.get_by_label("Company name").fill("Hangzhou Bright Home Co., Ltd.")
    page.get_by_label("Shop name").fill("Bright Home")
    page.get_by_label("Unified social credit code").fill(uscc)
    page.get_by_label(_label("Legal representative")).fill("Chen Ming")
    page.get_by_label("Legal representative ID number").fill(VALID_ID_NUMBER)
    page.get_by_role("button", name="Save and continue").click()

    # Step 2: business.
    expect(page).to_have_url(re.compile(r"/portal/apply/business/$"))
    expect(page.locator(".messages")).to_contain_text("Saved.")
    page.get_by_label("Contact name").fill("Liu Yang")
    page.get_by_label("Contact phone").fill("13912345678")
    page.get_by_label("Contact email").fill("contact@brighthome.example.com")
    page.get_by_role("checkbox", name="Home appliances", exact=True).check()
    page.get_by_role("checkbox", name="East China", exact=True).check()
    page.get_by_role("checkbox", name="South China", exact=True).check()
    expect(page.get_by_role("radio", name="Platform entry")).to_be_checked()
    page.get_by_role("radio", name=tier("core").name, exact=True).check()
    page.get_by_role("button", name="Save and continue").click()

    # Step 3: bank account.
    expect(page).to_have_url(re.compile(r"/portal/apply/bank/$"))
    page.get_by_label("Account holder").fill("Hangzhou Bright Home Co., Ltd.")
    page.get_by_label("Bank and branch").fill("ICBC Hangzhou")
    page.get_by_label("Account number").fill("6222021234567890")
    page.get_by_role("button", name="Save and continue").click()

    # Step 4: documents; the business licence is the one required here.
    expect(page).to_have_url(re.compile(r"/portal/apply/documents/$"))
    checklist = page.locator(".checklist")
    expect(checklist).to_contain_text("Business licence")
    expect(checklist).to_contain_text("missing")
    page.get_by_label("Document").select_option(label="Business licence")
    page.get_by_label("File").set_input_files(str(licence))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".messages")).to_contain_text("Document uploaded.")
    expect(checklist).to_contain_text("uploaded")
    expect(page.locator("table.data")).to_contain_text("image/png")
    page.get_by_role("link", name="Continue to review").click()

    # Step 5: review and submit.
    expect(page).to_have_url(re.compile(r"/portal/apply/review/$"))
    expect(page.get_by_text("Your application is complete and can be submitted.")).to_be_visible()
    summary = page.locator(".summary")
    expect(summary).to_contain_text("Hangzhou Bright Home Co., Ltd.")
    expect(summary).to_contain_text(uscc)
    expect(summary).to_contain_text("Home appliances")
    expect(summary).not_to_contain_text("6222021234567890")  # the account number is masked
    page.get_by_role("button", name="Submit for review").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.locator(".messages")).to_contain_text("Application submitted.")
    expect(page.locator(".status-card .badge")).to_have_text("Submitted")

    merchant = Merchant.objects.get(owner__email="chen.ming@brighthome.example.com")
    assert merchant.status == "submitted"

    # A staff reviewer approves it from the admin's review queue, in another tier.
    admin = new_page()
    admin.goto("/admin/")
    admin.get_by_label("Email address").fill(staff.email)
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.locator("tr.model-merchant").get_by_role("link", name="Merchants", exact=True).click()
    row = admin.locator("#result_list tbody tr", has_text="Hangzhou Bright Home Co., Ltd.")
    expect(row).to_contain_text("Submitted")
    row.get_by_role("link", name="Hangzhou Bright Home Co., Ltd.").click()
    admin.locator(".object-tools").get_by_role("link", name="Approve", exact=True).click()
    potential = tier("potential")
    admin.get_by_role("radio", name=f"{potential.name} ({format_cny(potential.deposit_amount)})").check()
    admin.get_by_role("button", name="Confirm: Approve").click()
    expect(admin.locator(".messagelist")).to_contain_text("is approved in tier")

    merchant.refresh_from_db()
    assert (merchant.status, merchant.tier_id) == ("approved", potential.pk)

    # The applicant reads and accepts the contract.
    page.goto("/portal/")
    expect(page.locator(".status-card .badge").first).to_have_text("Approved")
    page.get_by_role("link", name="Read the contract").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contract")
    contract_card = page.locator(".portal-main .card")
    expect(contract_card).to_contain_text(potential.name)
    expect(contract_card).to_contain_text("Home appliances")
    page.get_by_label("I have read the contract and accept it on behalf of the company.").check()
    page.get_by_role("button", name="Accept the contract").click()
    expect(page.locator(".messages")).to_contain_text("Contract accepted.")
    expect(page).to_have_url(re.compile(r"/portal/deposit/$"))

    # The database, exactly.
    merchant.refresh_from_db()
    assert merchant.status == "contract_signed"
    assert (merchant.company_name, merchant.shop_name, merchant.social_credit_code) == (
        "Hangzhou Bright Home Co., Ltd.",
        "Bright Home",
        uscc,
    )
    assert (merchant.legal_rep_name, merchant.legal_rep_id_number) == ("Chen Ming", VALID_ID_NUMBER)
    assert merchant.bank_account_number == "6222021234567890"
    assert merchant.requested_category_ids == [appliances.pk]
    assert sorted(merchant.sales_regions) == ["east", "south"]
    assert (merchant.cooperation_mode, merchant.requested_tier_id, merchant.tier_id) == (
        "platform_entry",
        tier("core").pk,
        potential.pk,
    )
    assert merchant.submitted_at is not None and merchant.decided_at is not None
    document = MerchantDocument.objects.get(merchant=merchant)
    assert (document.kind, document.content_type) == ("business_licence", "image/png")
    contract = Contract.objects.get(merchant=merchant)
    assert (contract.status, contract.tier_id, contract.accepted_by_id) == ("accepted", potential.pk, merchant.owner_id)
    assert contract.category_ids == [appliances.pk]
    owner = MerchantMember.objects.get(merchant=merchant)
    assert (owner.user_id, owner.role) == (merchant.owner_id, "owner")
