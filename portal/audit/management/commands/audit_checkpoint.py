from django.core.management.base import BaseCommand, CommandError

from portal.audit import checkpoints


class Command(BaseCommand):
    help = (
        "Append a signed checkpoint of the audit chain head to AUDIT_CHECKPOINT_DIR and send "
        "it to AUDIT_CHECKPOINT_EMAIL / AUDIT_CHECKPOINT_SYSLOG when the head moved. Prints the "
        "line written; exits 0, or 1 when a delivery failed (the line is written regardless)."
    )

    def handle(self, *args, **options):
        written = checkpoints.write()
        cp = {k: written[k] for k in (*checkpoints.SIGNED_FIELDS, "mac")}
        self.stdout.write(checkpoints.line_for(cp), ending="")
        where = ", ".join(written["sent"]) or (
            "nowhere else (unchanged since the previous checkpoint)"
            if not written["moved"]
            else "nowhere else (no AUDIT_CHECKPOINT_EMAIL or AUDIT_CHECKPOINT_SYSLOG)"
        )
        self.stdout.write(f"Checkpoint #{cp['seq']} written to {written['file']}; sent: {where}.")
        if written["errors"]:
            raise CommandError("\n".join(written["errors"]))
