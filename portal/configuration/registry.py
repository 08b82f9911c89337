"""Record kinds of the configuration document: one table per kind, one registry.

Each kind (``tenants:``, ``schedules:`` and, as their apps land, ``applications:``, ``grants:``,
``relay_clients:``, ``integrations:``) is a ``RecordKind`` registered here. Its fields are read
from the Django form that validates the same record on the web, so the JSON Schema, the
validator and the exporter all share one definition, and every record is checked by that form.

To add a kind: subclass ``RecordKind`` in the app that owns the model, fill in the hooks, and
call ``register(MyKind())`` from that app's ``AppConfig.ready()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django import forms

# Names the placeholders of exported secrets: TENANT_CONTOSO_CLIENT_SECRET.
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Field:
    """One key of a record in the document.

    ``name`` is the key in the file, ``form_field`` the form field that validates it (None for
    a key the kind checks itself, such as a schedule's tenant) and ``attr`` the model attribute
    that stores it.
    """

    name: str
    form_field: str | None
    attr: str
    type: str  # "string", "integer", "boolean" or "list" (a list of strings)
    default: Any = ""
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    minimum: int | None = None
    required: bool = False
    secret: bool = False
    joiner: str = "\n"  # how a list is given to its form's text field
    description: str = ""


def fields_from_form(
    form_class,
    order: list[str],
    *,
    rename: dict[str, str] | None = None,
    lists: dict[str, str] | None = None,
    secrets: tuple[str, ...] = (),
) -> list[Field]:
    """Document fields for ``order`` (form field names), typed from the form's own fields.

    ``rename`` maps a form field to its key in the file; ``lists`` maps a form field that takes
    a list as text to the joiner that turns the file's list into that text.
    """
    rename, lists = rename or {}, lists or {}
    result = []
    for name in order:
        ff = form_class.base_fields[name]
        doc_name = rename.get(name, name.removesuffix("_text"))
        initial = ff.initial() if callable(ff.initial) else ff.initial
        kwargs: dict[str, Any] = {
            "name": doc_name,
            "form_field": name,
            "attr": doc_name if name in lists else name,
            "description": _describe(ff),
            "secret": name in secrets,
        }
        if name in lists:
            kwargs.update(type="list", default=[], joiner=lists[name])
        elif isinstance(ff, forms.BooleanField):
            kwargs.update(type="boolean", default=bool(initial))
        elif isinstance(ff, forms.IntegerField):
            kwargs.update(type="integer", default=initial, minimum=ff.min_value)
            kwargs["required"] = ff.required and initial is None
        elif isinstance(ff, forms.ChoiceField):
            values = tuple(str(v) for v, _label in ff.choices if v != "")
            kwargs.update(type="string", choices=values, default=initial or "")
            kwargs["required"] = ff.required and not initial
        else:
            kwargs.update(type="string", default=initial or "", max_length=ff.max_length)
            kwargs["required"] = ff.required and not initial
        result.append(Field(**kwargs))
    return result


def _describe(ff) -> str:
    parts = [str(ff.label or "")]
    if ff.help_text:
        parts.append(str(ff.help_text))
    return ". ".join(p.rstrip(".") for p in parts if p) + ("." if ff.help_text else "")


@dataclass
class Context:
    """What validation may look at: the existing records, the names the file defines, and where
    secret references may point."""

    base_dir: str | None = None  # relative ``_file`` paths are read from here
    # The web page: no ``_file`` references, and only variables with the kind's prefix.
    from_web: bool = False
    prune: bool = False
    present: set[str] = field(default_factory=set)  # tables present in the document
    existing: dict[str, dict] = field(default_factory=dict)  # kind -> {key: instance}
    keys: dict[str, set] = field(default_factory=dict)  # kind -> keys the file names
    lock: bool = False

    def names_after(self, kind: str) -> set:
        """Keys of ``kind`` that exist once this document is applied."""
        named = self.keys.get(kind, set())
        if self.prune and kind in self.present:
            return set(named)
        return set(named) | set(self.existing.get(kind, {}))


class RecordKind:
    """A table of the document. Subclasses fill in the model-specific hooks."""

    table: str = ""  # top-level key, e.g. "tenants"
    order: int = 100  # tables are applied in this order (a tenant before its schedules)
    form_class = None
    fields: list[Field] = []
    key_fields: tuple[str, ...] = ()  # document keys that name a record
    env_prefix: str = ""  # exported secrets become <env_prefix><NAME>_<FIELD>

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def key_of(self, values: dict) -> tuple:
        """The record's key from its stored values (model attributes)."""
        return tuple(values[self.field(name).attr] for name in self.key_fields)

    def label(self, key: tuple) -> str:
        return " · ".join(str(part) for part in key)

    # Hooks -------------------------------------------------------------------------------
    def existing(self, ctx: Context) -> dict[tuple, Any]:
        """Every stored record by key (locked for update when ``ctx.lock``)."""
        raise NotImplementedError

    def form_instance(self, key: tuple, ctx: Context):
        """The instance the form validates against (its pk makes uniqueness checks exclude it)."""
        raise NotImplementedError

    def extra_checks(self, values: dict, ctx: Context) -> list[tuple[str, str]]:
        """(document key, message) pairs for rules that live outside the form."""
        return []

    def changed(self, instance, values: dict) -> list[str]:
        """Document names of the fields whose stored value differs from ``values``."""
        return [
            f.name
            for f in self.fields
            if f.form_field is not None and getattr(instance, f.attr) != values[f.attr]
        ]

    def create(self, values: dict, source: dict):
        raise NotImplementedError

    def update(self, instance, values: dict, changed: list[str], source: dict):
        raise NotImplementedError

    def delete(self, instance, source: dict):
        raise NotImplementedError

    def export(self, tenant: str | None) -> list[dict]:
        raise NotImplementedError


_KINDS: dict[str, RecordKind] = {}


def register(kind: RecordKind) -> RecordKind:
    """Add a table to the document."""
    if kind.table in _KINDS:
        raise ValueError(f"record kind {kind.table!r} is already registered")
    _KINDS[kind.table] = kind
    return kind


def kinds() -> list[RecordKind]:
    """Every table, in the order they are applied (and exported)."""
    return sorted(_KINDS.values(), key=lambda kind: kind.order)


def get(table: str) -> RecordKind | None:
    return _KINDS.get(table)
