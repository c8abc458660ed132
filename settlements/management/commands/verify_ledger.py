"""python manage.py verify_ledger — every ledger invariant; exit 1 with the differences.

First posts what is pending (as the beat's `ledger_post_pending_task` would; `--no-post` to
only read), then checks: every entry balances; every approved statement equals its posting;
every payment captured, refund returned and deposit movement has its entry, of its amount;
each merchant's deposits held equals its deposit ledger."""

from django.core.management.base import BaseCommand
from django.db.models import Sum

from marketplace.money import quantize
from settlements import selectors, services
from settlements.choices import StatementStatus
from settlements.models import JournalEntry, Statement


class Command(BaseCommand):
    help = "Check that every journal entry balances and every approved statement equals its postings."

    def add_arguments(self, parser):
        parser.add_argument("--no-post", action="store_true", help="Do not post pending movements first.")

    def handle(self, *args, no_post=False, **options):
        if not no_post:
            services.ledger_post_pending(time_budget=600)
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
        for name in selectors.LEDGER_SOURCES:
            for difference in selectors.ledger_source_differences(name):
                ids = " ".join(f"{k}={v}" for k, v in difference.items() if k not in ("amount", "ledger"))
                problems.append(f"{name} {ids}: amount {difference['amount']}, ledger {difference['ledger']}")
        for difference in selectors.deposit_held_differences():
            problems.append("deposits held: " + " ".join(f"{k}={v}" for k, v in difference.items()))
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise SystemExit(1)
        self.stdout.write(f"ok ({JournalEntry.objects.count()} entries, {approved.count()} approved statements)")
