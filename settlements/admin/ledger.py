"""The ledger, read-only: accounts with their balance, journal entries with their postings.
Entries are append-only (the database refuses updates and deletes); corrections are new
entries posted by the services."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from marketplace.admin_tools import ReadOnlyAdmin, ReadOnlyInline, money

from .. import selectors
from ..choices import JournalEntryKind
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


class EntryKindFilter(admin.SimpleListFilter):
    """The movement behind an entry: the prefix of its natural key `<kind>:<source id>`."""

    title = _("movement")
    parameter_name = "movement"

    def lookups(self, request, model_admin):
        return JournalEntryKind.choices

    def queryset(self, request, queryset):
        if self.value() in JournalEntryKind.values:
            return queryset.filter(key__startswith=f"{self.value()}:")
        return queryset


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["key", "movement", "description", "statement", "created_by", "created_at"]
    list_select_related = ["statement", "created_by"]
    list_filter = [EntryKindFilter, ("postings__account__kind", admin.ChoicesFieldListFilter)]
    # The source's id is in the key (payment or refund reference, deposit entry id, payout reference).
    search_fields = ["key", "description"]
    date_hierarchy = "created_at"
    inlines = [PostingInline]

    @admin.display(description=_("movement"))
    def movement(self, entry):
        kind = entry.key.split(":", 1)[0]
        return JournalEntryKind(kind).label if kind in JournalEntryKind.values else kind
