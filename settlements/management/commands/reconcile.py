"""python manage.py reconcile --period 2026-10 — payments, refunds, deposits and ledger; exit 1
on differences. First posts the movements pending (as the beat's task would; `--no-post` to
only read)."""

from django.core.management.base import BaseCommand, CommandError

from marketplace.money import format_cny
from settlements import selectors, services


class Command(BaseCommand):
    help = "Reconcile a period: gateway payments vs orders paid, refunds vs refund lines, statements vs ledger."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True)
        parser.add_argument("--no-post", action="store_true", help="Do not post pending movements first.")

    def handle(self, *args, period, no_post=False, **options):
        try:
            services.parse_period(period)
        except Exception as exc:
            raise CommandError(str(exc)) from exc
        if not no_post:
            services.ledger_post_pending(time_budget=600)
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
        for name, label in (
            ("payments_ledger", "payments captured"),
            ("refunds_ledger", "refunds returned"),
            ("deposits", "deposit movements"),
        ):
            section = report.sections[name]
            self.stdout.write(
                f"  {label} {format_cny(section['amount'])} / journal entries {format_cny(section['ledger'])}"
            )
        for name, section in report.sections.items():
            for difference in section["differences"]:
                self.stderr.write(f"  difference in {name}: {difference}")
        if not report.ok:
            raise SystemExit(1)
        self.stdout.write("ok")
