"""The newest run of each test of each tenant: the overview's grid, the dashboard tiles and a
tenant's panel.

The newest run of one (tenant, test) pair is one lookup in the ``(tenant, probe, -id)`` index,
so the cost follows the number of cells shown, never the number of runs kept: one query finds
the cells' run ids (a subquery per test, joined with UNION ALL inside the query, so no id list
travels through Python) and loads those runs.
"""

from django.db.models import OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils.translation import gettext

from portal.runs.models import TENANT_PROBES, Probe, ProbeRun, RunStatus

# What a grid cell, a tile line or a panel row shows of a run. Not its steps or parameters:
# they are read on the run's own page, and decoding them for every cell costs more than the
# rest of the page.
CELL_COLUMNS = ("tenant_id", "probe", "target", "status", "cert_days_left", "created_at",
                "finished_at", "duration_ms")  # fmt: skip


def _newest_id(probe: str) -> Subquery:
    newest = ProbeRun.objects.filter(tenant=OuterRef("pk"), probe=probe).order_by("-id")
    return Subquery(newest.values("id")[:1])


def newest_ids(tenants: QuerySet) -> QuerySet:
    """A subquery: the id of the newest run of every test of every tenant in ``tenants``."""
    tenants = tenants.order_by()
    per_probe = [tenants.annotate(last=_newest_id(p)).values("last") for p in Probe.values]
    return per_probe[0].union(*per_probe[1:], all=True)


def latest_runs(tenants: QuerySet) -> QuerySet:
    """The newest run of every (tenant, test) pair of ``tenants``, without steps."""
    return ProbeRun.objects.filter(id__in=newest_ids(tenants)).only(*CELL_COLUMNS)


# Stand-ins reversed once per request; each cell's link is the pattern with its own values.
_ID, _SLUG = 987654321, "probe-slug"


def _pattern(name: str, *args) -> str:
    return reverse(name, args=args).replace(str(_ID), "{pk}").replace(_SLUG, "{probe}")


def grid_rows(tenants, runs) -> list[dict]:
    """The overview's rows: per tenant, one cell per test with its newest run, ready to print.

    A page of the grid has hundreds of cells; building each here (labels looked up once, links
    filled into a pattern) costs a fraction of resolving the same through template tags.
    """
    run_link = _pattern("connectivity:run", _ID)
    history_link = _pattern("connectivity:history", _ID, _SLUG)
    labels = {value: str(label) for value, label in RunStatus.choices}
    never = gettext("never run")
    probes = [(p.value, str(p.label)) for p in TENANT_PROBES]
    newest = {(r.tenant_id, r.probe): r for r in runs}
    rows = []
    for tenant in tenants:
        cells = []
        for probe, probe_label in probes:
            run = newest.get((tenant.pk, probe))
            cells.append({
                "probe": probe_label, "run": run,
                "status": run.status if run else "skip",
                "label": labels.get(run.status, run.status) if run else never,
                "url": run_link.format(pk=run.pk) if run else "",
                "history": history_link.format(pk=tenant.pk, probe=probe),
            })  # fmt: skip
        rows.append({"tenant": tenant, "cells": cells})
    return rows


def schedule_lines(schedules) -> list:
    """The schedules with their test's name and their tenant's link set once per kind."""
    tenant_link = _pattern("tenants:detail", _ID)
    probes = {value: str(label) for value, label in Probe.choices}
    lines = list(schedules)
    for schedule in lines:
        schedule.probe_label = probes.get(schedule.probe, schedule.probe)
        schedule.tenant_link = tenant_link.format(pk=schedule.tenant_id)
    return lines
