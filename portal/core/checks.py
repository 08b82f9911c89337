from django.core.checks import Error, Tags, Warning, register

from portal.lib import crypto


@register()
def encryption_keys(app_configs, **kwargs):
    try:
        crypto.fernet()
    except Exception as exc:  # noqa: BLE001
        return [Error(str(exc), id="portal.E001")]
    return []


@register()
def audit_keys(app_configs, **kwargs):
    from portal.audit import keys

    try:
        keys.ring()
    except Exception as exc:  # noqa: BLE001
        return [Error(str(exc), id="portal.E002")]
    return []


@register(Tags.database)
def audit_guard(app_configs, databases=None, **kwargs):
    """Missing append-only triggers (runs with `migrate` and `check --database default`).

    A warning, not an error: an error would stop the very `migrate` that restores them."""
    from django.db import connections

    from portal.audit import db_guard

    found = []
    for alias in databases or []:
        try:
            problems = db_guard.problems(connections[alias])
        except Exception:  # noqa: BLE001, S112  (no database yet: migrate installs the guard)
            continue
        found += [
            Warning(
                f"Audit append-only guard: {problem}.",
                hint="Run `manage.py migrate` to restore it, then `manage.py audit_verify`.",
                id="portal.W010",
            )
            for problem in problems
        ]
    return found
