"""A plan or an apply result as the lines a person reads (the JSON form is ``Plan.as_json``)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from portal.configuration.planner import Plan


def plan_lines(plan: Plan) -> list[str]:
    width = max((len(item.kind.table) for item in plan.items), default=0)
    lines = []
    for item in plan.items:
        line = f"{item.action:<9}  {item.kind.table:<{width}}  {item.kind.label(item.key)}"
        if item.fields:
            line += f"  ({', '.join(item.fields)})"
        lines.append(line)
    return lines


def summary_line(plan: Plan) -> str:
    counts = plan.summary()
    text = _("%(create)d to create, %(update)d to update, %(delete)d to delete, "
             "%(unchanged)d unchanged.") % counts  # fmt: skip
    if plan.applied:
        text = _("Applied: %(create)d created, %(update)d updated, %(delete)d deleted, "
                 "%(unchanged)d unchanged; %(events)d audit events.") % {
            **counts, "events": plan.audit_events}  # fmt: skip
    return text


def error_lines(plan: Plan) -> list[str]:
    return [f"{path}: {message}" if path else message for path, message in plan.errors]
