from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "portal.audit"
    label = "audit"
    verbose_name = "Audit"

    def ready(self):
        from portal.audit import celery_context  # noqa: F401  (connects Celery signals)
