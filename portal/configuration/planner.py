"""The plan: what applying a document would create, update, leave alone or (with prune) delete.

``run()`` is the one entry point for the command line and the web page: it validates every
record, collects every error with its path, and — when asked to apply and nothing is wrong —
applies the plan in the same transaction that computed it, so nothing can change in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from portal.audit.models import AuditEvent
from portal.configuration import document, registry
from portal.configuration.registry import Context, RecordKind
from portal.configuration.validation import Error, check_record, raw_key

VERSION = 1
ACTIONS = ("create", "update", "delete", "unchanged")


@dataclass
class Item:
    kind: RecordKind
    key: tuple
    action: str
    fields: list[str] = field(default_factory=list)
    values: dict | None = None
    instance: Any = None

    @property
    def name(self) -> str:
        return self.kind.label(self.key)

    def as_json(self) -> dict:
        return {
            "table": self.kind.table,
            "name": self.name,
            "key": dict(zip(self.kind.key_fields, self.key, strict=True)),
            "action": self.action,
            "fields": self.fields,
        }


@dataclass
class Plan:
    sha256: str
    items: list[Item] = field(default_factory=list)
    errors: list[Error] = field(default_factory=list)
    applied: bool = False
    audit_events: int = 0

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def changes(self) -> list[Item]:
        return [item for item in self.items if item.action != "unchanged"]

    def summary(self) -> dict:
        return {action: sum(i.action == action for i in self.items) for action in ACTIONS}

    def as_json(self) -> dict:
        data = {
            "file_sha256": self.sha256,
            "valid": self.valid,
            "applied": self.applied,
            "errors": [{"path": path, "message": message} for path, message in self.errors],
            "summary": self.summary(),
            "records": [item.as_json() for item in self.items],
        }
        if self.applied:
            data["audit_events"] = self.audit_events
        return data


def run(data: bytes, ctx: Context, *, apply: bool = False, source: dict | None = None) -> Plan:
    """Validate and plan ``data``; with ``apply``, also apply it when it is valid."""
    if not apply:
        return make_plan(data, ctx)
    with transaction.atomic():
        ctx.lock = True
        plan = make_plan(data, ctx)
        if plan.valid and plan.changes:
            plan.audit_events = _apply(plan, {"file_sha256": plan.sha256, **(source or {})})
        plan.applied = plan.valid
    return plan


def make_plan(data: bytes, ctx: Context) -> Plan:
    plan = Plan(sha256=document.sha256(data))
    try:
        doc = document.parse(data)
    except document.DocumentError as exc:
        plan.errors.append((exc.path, exc.message))
        return plan
    doc = {} if doc is None else doc
    if not isinstance(doc, dict):
        plan.errors.append(("", _("The document must start with tables such as “tenants:”.")))
        return plan
    tables = [kind.table for kind in registry.kinds()]
    for key in doc:
        if key != "version" and key not in tables:
            plan.errors.append((str(key), _("Unknown table. This document may have: %(known)s.")
                                % {"known": ", ".join(["version", *tables])}))  # fmt: skip
    if doc.get("version", VERSION) != VERSION:
        plan.errors.append(("version", _("Only version 1 is understood.")))
    ctx.present = {table for table in tables if table in doc}
    ctx.existing = {kind.table: kind.existing(ctx) for kind in registry.kinds()}
    for kind in registry.kinds():
        if kind.table in doc:
            _plan_table(kind, doc[kind.table], ctx, plan)
    return plan


def _plan_table(kind: RecordKind, rows, ctx: Context, plan: Plan) -> None:
    rows = [] if rows is None else rows
    if not isinstance(rows, list):
        plan.errors.append((kind.table, _("Must be a list of records (lines starting with “- ”).")))
        return
    existing = ctx.existing[kind.table]
    named: dict[tuple, int] = {}
    ctx.keys[kind.table] = set()
    checked = []
    # Every key first, so a record may name another one further down the file.
    for raw in rows:
        key = raw_key(kind, raw)
        if key is not None:
            ctx.keys[kind.table].add(key)
    for index, raw in enumerate(rows):
        path = f"{kind.table}[{index}]"
        values, errors = check_record(kind, raw, path, ctx)
        plan.errors += errors
        if values is None:
            continue
        key = kind.key_of(values)
        if key in named:
            plan.errors.append((f"{path}.{kind.key_fields[0]}",
                                _("“%(name)s” is already defined at %(table)s[%(index)d].")
                                % {"name": kind.label(key), "table": kind.table,
                                   "index": named[key]}))  # fmt: skip
            continue
        named[key] = index
        checked.append((key, values))
    for key, values in checked:
        instance = existing.get(key)
        if instance is None:
            plan.items.append(Item(kind, key, "create", values=values))
        else:
            changed = kind.changed(instance, values)
            action = "update" if changed else "unchanged"
            plan.items.append(Item(kind, key, action, changed, values, instance))
    if ctx.prune:
        for key, instance in existing.items():
            if key not in named and key not in ctx.keys[kind.table]:
                plan.items.append(Item(kind, key, "delete", instance=instance))


def _apply(plan: Plan, source: dict) -> int:
    """Apply a valid plan inside the caller's transaction; the number of audit events written."""
    first = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    order = [kind.table for kind in registry.kinds()]
    # Dependents go first when deleting (a schedule before its tenant), last when creating.
    deletes = sorted((i for i in plan.items if i.action == "delete"),
                     key=lambda i: -order.index(i.kind.table))  # fmt: skip
    for item in deletes:
        item.kind.delete(item.instance, source)
    for item in plan.items:
        if item.action == "create":
            item.kind.create(item.values, source)
        elif item.action == "update":
            item.kind.update(item.instance, item.values, item.fields, source)
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    return last - first
