"""The ledger, read-only: accounts with their balance, journal entries with their postings.
Entries are append-only (the database refuses updates and deletes); corrections are new
entries posted by the services."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import ReadOnlyAdmin, ReadOnlyInline, money

from .. import selectors
from ..models import Account, JournalEntry, Posting


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "merchant", "balance_display"]
    list_filter = ["kind"]
    search_fields = ["name", "merchant__company_name", "merchant__shop_name"]
    readonly_fields = ["balance_display"]

    def get_queryset(self, request):
        return selectors.account_list()

    @admin.display(description=_("balance (debit +, credit −)"), ordering="balance")
    def balance_display(self, account):
        return money(account.balance)


class PostingInline(ReadOnlyInline):
    model = Posting
    fields = ["account", "amount"]


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["key", "description", "statement", "created_by", "created_at"]
    list_select_related = ["statement", "created_by"]
    search_fields = ["key", "description"]
    date_hierarchy = "created_at"
    inlines = [PostingInline]
