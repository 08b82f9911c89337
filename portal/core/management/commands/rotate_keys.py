from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from portal.audit.api import record
from portal.lib.crypto import PREFIX, encrypted_fields, rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the newest key in FIELD_ENCRYPTION_KEYS. "
        "Put the new key first, run this, then drop the old key."
    )

    def handle(self, *args, **options):
        counts = {}
        with transaction.atomic():
            for model in apps.get_models():
                fields = encrypted_fields(model)
                if not fields:
                    continue
                names = [f.name for f in fields]
                rows = 0
                # Reading decrypts with any key; update() encrypts with the newest.
                for pk, *values in model._base_manager.values_list("pk", *names).iterator():
                    model._base_manager.filter(pk=pk).update(
                        **dict(zip(names, values, strict=True))
                    )
                    rows += 1
                counts[model._meta.label_lower] = rows
            counts["mfa.authenticator"] = _rotate_mfa_secrets()
            record(
                "keys.rotate",
                target={"type": "portal.keys", "id": "", "label": "field encryption keys"},
                after={"reencrypted": counts},
            )
        total = sum(counts.values())
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} rows: {counts or 'none'}"))


def _rotate_mfa_secrets() -> int:
    """TOTP secrets and recovery-code seeds are encrypted inside allauth's JSON ``data``."""
    from allauth.mfa.models import Authenticator

    rows = 0
    for authenticator in Authenticator.objects.all().iterator():
        data = dict(authenticator.data)
        changed = False
        for key in ("secret", "seed"):
            value = data.get(key)
            if isinstance(value, str) and value.startswith(PREFIX):
                data[key] = rotate(value)
                changed = True
        if changed:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)
            rows += 1
    return rows
