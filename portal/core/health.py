from django.conf import settings
from django.db import connection


def database_status() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, connection.vendor
    except Exception as exc:  # noqa: BLE001  (any failure means unhealthy)
        return False, type(exc).__name__


def broker_status(timeout: float = 2.0) -> tuple[bool, str]:
    from portal.celery import app

    transport = settings.CELERY_BROKER_URL.split("://", 1)[0]
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            if transport == "filesystem":
                # The transport "connects" without touching disk; check the queue folder.
                options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
                import os

                if not os.access(options["data_folder_out"], os.W_OK):
                    return False, "filesystem queue folder is not writable"
        return True, transport
    except Exception as exc:  # noqa: BLE001
        return False, f"{transport}: {type(exc).__name__}"
