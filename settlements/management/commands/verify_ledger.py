"""python manage.py verify_ledger — every ledger invariant; exit 1 with the differences."""

from django.core.management.base import BaseCommand
from django.db.models import Sum

from marketplace.money import quantize
from settlements import selectors
from settlements.choices import StatementStatus
from settlements.models import JournalEntry, Statement


class Command(BaseCommand):
    help = "Check that every journal entry balances and every approved statement equals its postings."

    def handle(self, *args, **options):
        problems = []
        # Summed in SQL (numeric, exact) and compared as Decimals to the cent.
        for entry in JournalEntry.objects.annotate(total=Sum("postings__amount")).exclude(total__isnull=True):
            if quantize(entry.total) != 0:
                problems.append(f"entry {entry.key}: postings sum to {entry.total}")
        for entry in JournalEntry.objects.filter(postings__isnull=True):
            problems.append(f"entry {entry.key}: no postings")
        approved = Statement.objects.exclude(status=StatementStatus.DRAFT).prefetch_related("lines")
        for statement in approved:
            if not selectors.statement_matches_ledger(statement):
                problems.append(
                    f"statement {statement.period} merchant {statement.merchant_id}: payable {statement.payable}, "
                    f"ledger {selectors.statement_ledger_total(statement)}"
                )
        for statement in Statement.objects.filter(
            status=StatementStatus.DRAFT, journal_entries__isnull=False
        ).distinct():
            problems.append(f"statement {statement.period} merchant {statement.merchant_id}: posted but not approved")
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise SystemExit(1)
        self.stdout.write(f"ok ({JournalEntry.objects.count()} entries, {approved.count()} approved statements)")
