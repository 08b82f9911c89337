from django.core.management.base import BaseCommand, CommandError

from portal.audit.api import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exits non-zero naming the first bad event."

    def handle(self, *args, **options):
        checked, bad, reason = verify_chain()
        if bad is not None:
            raise CommandError(
                f"Audit chain broken at event #{bad.seq} (id {bad.pk}, {bad.action}): {reason}. "
                f"{checked} events before it verified."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {checked} events verified."))
