from django.core.management.base import BaseCommand

from marketplace.audit import audit_chain_check


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chains: prints 'ok' with the digest of all stream heads (exit 0) "
        "or the first tampered entry (exit 1)."
    )

    def handle(self, *args, **options):
        report = audit_chain_check()
        if report.problem is not None:
            self.stderr.write(f"tampered: {report.problem}")
            raise SystemExit(1)
        self.stdout.write(
            f"ok ({report.entries} entries in {report.streams} streams, heads digest {report.heads_digest})"
        )
