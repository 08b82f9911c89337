from django.core.checks import Error, register

from portal.lib import crypto


@register()
def encryption_keys(app_configs, **kwargs):
    try:
        crypto.fernet()
    except Exception as exc:  # noqa: BLE001
        return [Error(str(exc), id="portal.E001")]
    return []
