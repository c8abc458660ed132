"""python manage.py reconcile --period 2026-10 — payments, refunds and ledger; exit 1 on differences."""

from django.core.management.base import BaseCommand, CommandError

from marketplace.money import format_cny
from settlements import selectors, services


class Command(BaseCommand):
    help = "Reconcile a period: gateway payments vs orders paid, refunds vs refund lines, statements vs ledger."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True)

    def handle(self, *args, period, **options):
        try:
            services.parse_period(period)
        except Exception as exc:
            raise CommandError(str(exc)) from exc
        report = selectors.reconcile(period=period)
        payments = report.sections["payments"]
        refunds = report.sections["refunds"]
        ledger = report.sections["ledger"]
        self.stdout.write(f"Reconciliation {report.period}")
        self.stdout.write(
            f"  payments captured {format_cny(payments['captured'])} / orders paid {format_cny(payments['orders_paid'])}"
        )
        self.stdout.write(
            f"  refunds issued {format_cny(refunds['issued'])} / refund lines {format_cny(refunds['refund_lines'])}"
        )
        self.stdout.write(f"  approved statements checked against the ledger: {ledger['statements']}")
        for name, section in report.sections.items():
            for difference in section["differences"]:
                self.stderr.write(f"  difference in {name}: {difference}")
        if not report.ok:
            raise SystemExit(1)
        self.stdout.write("ok")
