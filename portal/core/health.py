import os

from django.conf import settings
from django.db import connection
from kombu import Connection


def database_status() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, connection.vendor
    except Exception as exc:  # noqa: BLE001  (any failure means unhealthy)
        return False, type(exc).__name__


def broker_status(timeout: float = 2.0) -> tuple[bool, str]:
    """Open a fresh broker connection (never Celery's pooled one) and report whether it works."""
    url = settings.CELERY_BROKER_URL
    transport = url.split("://", 1)[0]
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    if transport == "filesystem":
        # This transport "connects" without touching disk; its queue folder is what matters.
        folder = options.get("data_folder_out", "")
        if not os.access(folder, os.W_OK):
            return False, "filesystem: queue folder is not writable"
        return True, transport
    try:
        with Connection(url, connect_timeout=timeout, transport_options=options) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
        return True, transport
    except Exception as exc:  # noqa: BLE001
        return False, f"{transport}: {type(exc).__name__}"


def audit_guard_status() -> tuple[bool, str]:
    """Whether the audit table's append-only triggers are all in place (missing = degraded)."""
    from portal.audit import db_guard

    try:
        problems = db_guard.problems(connection)
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__
    if problems:
        # Anyone may read /healthz: say how many, `manage.py audit_verify` names them.
        return False, f"{len(problems)} append-only trigger(s) missing, disabled or altered"
    return True, "triggers in place"
