"""Secret fields are given by reference only: ``<field>_env: VARIABLE`` or ``<field>_file: PATH``.

The value is read when the document is validated and never written back to any file, plan or
message. On the web, where the process's own environment holds the portal's keys, a document
may name only variables with its kind's prefix (``TENANT_…``) and no files at all.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.utils.translation import gettext as _

from portal.configuration.registry import ENV_NAME, Context, Field

MAX_SECRET_BYTES = 256 * 1024


def reference_keys(field: Field) -> tuple[str, str]:
    return f"{field.name}_env", f"{field.name}_file"


def literal_refused(field: Field) -> str:
    env_key, file_key = reference_keys(field)
    return _(
        "Secrets are never written in the file. Reference it instead: “%(env)s: VARIABLE” "
        "(read from the environment when the file is applied) or “%(file)s: /path/to/file”."
    ) % {"env": env_key, "file": file_key}


def resolve(field: Field, record: dict, ctx: Context, prefix: str) -> tuple[str, str | None, str]:
    """(value, error, the key the error belongs to) for one secret field of a record."""
    env_key, file_key = reference_keys(field)
    if env_key in record and file_key in record:
        return (
            "",
            _("Give either %(env)s or %(file)s, not both.")
            % {
                "env": env_key,
                "file": file_key,
            },
            env_key,
        )
    if env_key in record:
        return _from_env(record[env_key], ctx, prefix) + (env_key,)
    if file_key in record:
        return _from_file(record[file_key], ctx) + (file_key,)
    return "", None, field.name


def _from_env(name, ctx: Context, prefix: str) -> tuple[str, str | None]:
    if not isinstance(name, str) or not ENV_NAME.match(name):
        return "", _("Name an environment variable: letters, digits and _ only.")
    if ctx.from_web and not (prefix and name.startswith(prefix)):
        return "", _(
            "Documents applied from the web may only name environment variables that start "
            "with %(prefix)s; apply this file with “manage.py config apply” instead."
        ) % {"prefix": prefix}
    value = os.environ.get(name)
    if value is None:
        return "", _(
            "The environment variable %(name)s is not set: set it where the file is applied."
        ) % {"name": name}
    return value, None


def _from_file(path, ctx: Context) -> tuple[str, str | None]:
    if ctx.from_web:
        return "", _(
            "Files on the server cannot be named from the web; apply this file with "
            "“manage.py config apply” or use an environment variable."
        )
    if not isinstance(path, str) or not path.strip():
        return "", _("Give the path of a file that holds the secret.")
    target = Path(path).expanduser()
    if not target.is_absolute() and ctx.base_dir:
        target = Path(ctx.base_dir) / target
    try:
        with target.open("rb") as handle:
            data = handle.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        return "", _("The file %(path)s cannot be read (%(reason)s).") % {
            "path": path,
            "reason": exc.strerror or type(exc).__name__,
        }
    if len(data) > MAX_SECRET_BYTES:
        return "", _("The file %(path)s is too large for a secret.") % {"path": path}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "", _("The file %(path)s is not UTF-8 text.") % {"path": path}
    # Secret files conventionally end with a newline that is not part of the secret.
    return text.rstrip("\r\n") if "-----BEGIN" not in text else text.strip(), None
