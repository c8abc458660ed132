from django.core.management.base import BaseCommand

from marketplace.audit import audit_chain_verify
from marketplace.models import AuditLogEntry


class Command(BaseCommand):
    help = "Verify the audit log hash chain: prints 'ok' (exit 0) or the first tampered entry (exit 1)."

    def handle(self, *args, **options):
        problem = audit_chain_verify()
        if problem is not None:
            self.stderr.write(f"tampered: {problem}")
            raise SystemExit(1)
        self.stdout.write(f"ok ({AuditLogEntry.objects.count()} entries)")
