from django.core.management.base import BaseCommand, CommandError

from portal.audit.verify import full_check


class Command(BaseCommand):
    help = (
        "Verify the audit log: every event's HMAC and link, the checkpoints kept outside the "
        "database (truncation), and the append-only triggers. Exits 0 when all is intact, "
        "1 naming the first bad event and every guard problem."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoints",
            action="append",
            default=[],
            metavar="FILE",
            help="Also check against checkpoint lines kept elsewhere (e.g. received by email).",
        )

    def handle(self, *args, **options):
        outcome = full_check(checkpoint_files=options["checkpoints"])
        failures = []
        if outcome["first_bad"]:
            failures.append(
                f"Audit chain broken at {outcome['first_bad']}: {outcome['reason']}. "
                f"{outcome['checked']} events before it verified."
            )
        failures += [
            f"Append-only guard: {p}; run `manage.py migrate` to restore it."
            for p in outcome["guard_problems"]
        ]
        if failures:
            raise CommandError("\n".join(failures))
        last = outcome["last_checkpoint"]
        pinned = f"; newest checkpoint #{last['seq']} of {last['time']}" if last else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {outcome['checked']} events verified{pinned}; "
                "append-only triggers in place."
            )
        )
