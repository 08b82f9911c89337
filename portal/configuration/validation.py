"""One record of the document, checked: the document's types, then the kind's own Django form.

The form is the one the web pages use, so a file and a person typing into the page meet the
same rules and the same words; this module only translates between the file and the form.
"""

from __future__ import annotations

import difflib
import re

from django.utils.translation import gettext as _

from portal.configuration import secrets
from portal.configuration.registry import Context, Field, RecordKind

Error = tuple[str, str]  # (path, message)
_SEPARATOR = re.compile(r"[\s,;]")


def check_record(kind: RecordKind, raw, path: str, ctx: Context) -> tuple[dict | None, list]:
    """(the values to store, errors); values is None when there are errors."""
    if not isinstance(raw, dict):
        return None, [(path, _("Each record is a set of “field: value” lines."))]
    errors = _check_keys(kind, raw, path) + _check_types(kind, raw, path)
    if errors:
        return None, errors
    data, resolved, error_keys, unresolved = {}, {}, {}, set()
    for f in kind.fields:
        if f.secret:
            value, error, error_keys[f.name] = secrets.resolve(f, raw, ctx, kind.env_prefix)
            if error:
                errors.append((f"{path}.{error_keys[f.name]}", error))
                unresolved.add(f.form_field)
            resolved[f.name] = value
    for f in kind.fields:
        if f.form_field is None:
            continue
        value = resolved[f.name] if f.secret else _given(raw, f)
        data[f.form_field] = f.joiner.join(value) if f.type == "list" else value
    key = tuple(_given(raw, kind.field(name)) for name in kind.key_fields)
    key = tuple(part.strip() if isinstance(part, str) else part for part in key)
    form = kind.form_class(data=data, instance=kind.form_instance(key, ctx))
    if not form.is_valid() or errors:
        by_form = {f.form_field: error_keys.get(f.name, f.name) for f in kind.fields}
        for name, messages in form.errors.items():
            if name in unresolved:
                continue  # already reported: the reference itself is wrong
            where = path if name == "__all__" else f"{path}.{by_form.get(name, name)}"
            errors += [(where, str(message)) for message in messages]
        return None, errors
    values = {}
    for f in kind.fields:
        if f.form_field is None:
            values[f.attr] = _given(raw, f).strip()
        else:
            values[f.attr] = form.cleaned_data[f.form_field]
    errors += [(f"{path}.{name}", message) for name, message in kind.extra_checks(values, ctx)]
    return (None if errors else values), errors


def raw_key(kind: RecordKind, raw) -> tuple | None:
    """The key a record means to have even when it is invalid (so others can refer to it)."""
    if not isinstance(raw, dict):
        return None
    parts = [raw.get(name) for name in kind.key_fields]
    if not all(isinstance(part, str) for part in parts):
        return None
    return tuple(part.strip() for part in parts)


def _given(raw: dict, f: Field):
    value = raw.get(f.name)
    return f.default if value is None else value


def _check_keys(kind: RecordKind, raw: dict, path: str) -> list[Error]:
    known = {f.name: f for f in kind.fields}
    references = {key for f in kind.fields if f.secret for key in secrets.reference_keys(f)}
    errors = []
    for key in raw:
        if not isinstance(key, str):
            errors.append((path, _("Field names are plain text.")))
        elif key in known and known[key].secret:
            errors.append((f"{path}.{key}", secrets.literal_refused(known[key])))
        elif key not in known and key not in references:
            close = difflib.get_close_matches(key, [*known, *references], n=1)
            hint = (_(" Did you mean “%(name)s”?") % {"name": close[0]}) if close else ""
            errors.append((f"{path}.{key}", _("Unknown field.") + hint))
    for f in kind.fields:
        if f.required and f.form_field is None and raw.get(f.name) in (None, ""):
            errors.append((f"{path}.{f.name}", _("This field is required.")))
    return errors


def _check_types(kind: RecordKind, raw: dict, path: str) -> list[Error]:
    errors = []
    for f in kind.fields:
        value = raw.get(f.name)
        if value is None or f.secret:
            continue
        where = f"{path}.{f.name}"
        if f.type == "boolean" and not isinstance(value, bool):
            errors.append((where, _("Must be true or false.")))
        elif f.type == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            errors.append((where, _("Must be a whole number.")))
        elif f.type == "string" and not isinstance(value, str):
            errors.append((where, _("Must be text (put it in quotes if it looks like a number "
                                    "or a date).")))  # fmt: skip
        elif f.type == "list" and not (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        ):
            errors.append((where, _("Must be a list of text values.")))
        elif f.type == "list" and any(_SEPARATOR.search(item) for item in value):
            # The form reads its text split at these; one list item must stay one value.
            errors.append((where, _("Give one value per list item: without spaces, commas, "
                                    "semicolons or line breaks.")))  # fmt: skip
    return errors
