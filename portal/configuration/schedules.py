"""``schedules:`` — scheduled connectivity tests, a top-level table matched by tenant + test.

A top-level table (rather than nested under each tenant) so every kind of record has the same
shape: one list per kind, each record naming what it belongs to. Audited as the tenant page
audits a schedule: ``schedule.create`` / ``schedule.update`` / ``schedule.delete``.
"""

from __future__ import annotations

from dataclasses import replace

from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.api import record, snapshot
from portal.configuration.registry import Context, Field, RecordKind, fields_from_form, register
from portal.runs.forms import ScheduleForm
from portal.runs.models import TENANT_PROBES, Schedule
from portal.tenants.models import Tenant


class ScheduleKind(RecordKind):
    table = "schedules"
    order = 20
    form_class = ScheduleForm
    key_fields = ("tenant", "test")

    def __init__(self):
        tenant = Field(
            name="tenant", form_field=None, attr="tenant_name", type="string", required=True,
            max_length=Tenant._meta.get_field("name").max_length,
            description="The name of a tenant (in this file's tenants, or already stored).",
        )  # fmt: skip
        self.fields = [tenant] + fields_from_form(
            ScheduleForm,
            ["probe", "interval_minutes", "enabled", "notify_text"],
            rename={"probe": "test", "notify_text": "notify_emails"},
            lists={"notify_text": ","},
        )
        # Only the tests a tenant's page offers can be scheduled (the schedule view's rule).
        test = self.field("test")
        self.fields[self.fields.index(test)] = replace(
            test, choices=tuple(str(p.value) for p in TENANT_PROBES)
        )

    def existing(self, ctx: Context) -> dict:
        qs = Schedule.objects.select_related("tenant")
        if ctx.lock:
            qs = qs.select_for_update(of=("self",))
        return {(s.tenant.name, s.probe): s for s in qs}

    def form_instance(self, key, ctx: Context):
        return Schedule()

    def extra_checks(self, values: dict, ctx: Context) -> list[tuple[str, str]]:
        problems = []
        if values["probe"] not in TENANT_PROBES:
            problems.append(("test", _("This test cannot be scheduled.")))
        if values["tenant_name"] not in {key[0] for key in ctx.names_after("tenants")}:
            problems.append(
                ("tenant", _("No tenant named “%(name)s” (in this file or stored).")
                 % {"name": values["tenant_name"]})
            )  # fmt: skip
        return problems

    def create(self, values: dict, source: dict):
        schedule = Schedule(tenant=Tenant.objects.get(name=values["tenant_name"]),
                            next_due=timezone.now(), **_model_values(values))  # fmt: skip
        schedule.save()
        record("schedule.create", target=schedule, tenant=schedule.tenant,
               after={**snapshot(schedule), "applied_from": source})  # fmt: skip
        return schedule

    def update(self, schedule, values: dict, changed: list[str], source: dict):
        before = snapshot(schedule)
        for attr, value in _model_values(values).items():
            setattr(schedule, attr, value)
        if "interval_minutes" in changed:
            schedule.next_due = timezone.now()  # as the schedule form does
        schedule.save()
        record("schedule.update", target=schedule, tenant=schedule.tenant, before=before,
               after={**snapshot(schedule), "applied_from": source})  # fmt: skip
        return schedule

    def delete(self, schedule, source: dict):
        record("schedule.delete", target=schedule, tenant=schedule.tenant,
               before=snapshot(schedule), after={"applied_from": source})  # fmt: skip
        schedule.delete()

    def export(self, tenant: str | None) -> list[dict]:
        qs = Schedule.objects.select_related("tenant").order_by("tenant__name", "probe")
        if tenant is not None:
            qs = qs.filter(tenant__name=tenant)
        rows = []
        for schedule in qs:
            row = {"tenant": schedule.tenant.name, "test": schedule.probe}
            for f in self.fields[2:]:
                value = getattr(schedule, f.attr)
                if value != f.default:
                    row[f.name] = list(value) if f.type == "list" else value
            rows.append(row)
        return rows


def _model_values(values: dict) -> dict:
    return {k: v for k, v in values.items() if k != "tenant_name"}


register(ScheduleKind())
