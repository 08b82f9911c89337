from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "portal.audit"
    label = "audit"
    verbose_name = "Audit"

    def ready(self):
        from portal.audit import celery_context  # noqa: F401  (connects Celery signals)

        post_migrate.connect(restore_guard, sender=self, dispatch_uid="audit.restore_guard")
        # Verifying reads only: safe to run again when its worker dies.
        from portal.jobs import kinds

        kinds.register(kinds.JobKind("audit.verify", repeatable=lambda job: True))


def restore_guard(sender, using, plan=None, verbosity=1, **kwargs):
    """`migrate` puts back append-only triggers someone dropped, disabled or altered."""
    from django.db import connections

    from portal.audit import db_guard

    connection = connections[using]
    wrong = db_guard.restore(connection)
    # A flush (tests) also sends post_migrate, without a plan: nothing was tampered with there.
    if wrong and plan is not None:
        from portal.audit.api import record

        record(
            "audit.guard_restore",
            target={"type": "audit.chain", "id": "", "label": "audit chain"},
            before={"problems": wrong},
        )
        if verbosity:
            print("Audit append-only guard restored: " + "; ".join(wrong))
