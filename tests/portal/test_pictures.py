"""Pictures that inform: the history timeline's axis and titles, the audit list's words."""

import datetime as dt
import re

import pytest
from django.utils import translation

from portal.audit.api import record
from portal.audit.targets import TARGET_NAMES, target_name
from portal.runs.models import ProbeRun, RunStatus
from portal.runs.timeline import HEIGHT, WIDTH, timeline
from portal.tenants.models import Tenant

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def _tenant(name="Contoso"):
    return Tenant.objects.create(
        name=name, kind="online", cloud="worldwide",
        directory_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301", auth_method="oauth_secret",
        client_id="11111111-2222-3333-4444-555555555555", client_secret="s",
    )  # fmt: skip


def _runs(tenant, statuses, step=dt.timedelta(hours=6)):
    runs = []
    for i, status in enumerate(statuses):
        run = ProbeRun.objects.create(tenant=tenant, probe="ews", status=status,
                                      duration_ms=100 * (i + 1))  # fmt: skip
        ProbeRun.objects.filter(pk=run.pk).update(created_at=T0 + i * step)
        runs.append(run)
    return list(ProbeRun.objects.filter(tenant=tenant).order_by("-created_at"))


def test_timeline_fills_its_width_with_a_titled_bar_per_run():
    tenant = _tenant()
    runs = _runs(tenant, [RunStatus.PASS, RunStatus.FAIL, RunStatus.WARN] * 4)
    picture = timeline(runs)
    bars = picture["bars"]
    assert [b.run_id for b in bars] == [r.pk for r in reversed(runs)]  # oldest on the left
    assert bars[0].x < WIDTH * 0.05 and bars[-1].x + bars[-1].width > WIDTH * 0.95
    assert all(b.x + b.width <= WIDTH and b.y >= 0 for b in bars)
    assert bars[0].title.startswith("2026-11-20 08:00: Passed, 100 ms")
    assert bars[1].title.startswith("2026-11-20 14:00: Failed")
    # 12 runs over 2¾ days: labelled dates and times, the first with its year.
    labels = [t.label for t in picture["ticks"]]
    assert labels[0] == "2026-11-20 08:00" and labels[-1] == "11-23 02:00"
    assert 3 <= len(labels) <= 5
    assert [t.anchor for t in picture["ticks"]][:: len(labels) - 1] == ["start", "end"]


def test_timeline_over_weeks_labels_dates_only():
    tenant = _tenant()
    picture = timeline(_runs(tenant, [RunStatus.PASS] * 30, step=dt.timedelta(days=1)))
    labels = [t.label for t in picture["ticks"]]
    assert labels[0] == "2026-11-20 08:00"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", label) for label in labels[1:])


def test_history_page_draws_the_axis_and_scales_to_its_box(viewer_client):
    tenant = _tenant()
    _runs(tenant, [RunStatus.PASS, RunStatus.ERROR, RunStatus.PASS])
    page = viewer_client.get(f"/connectivity/tenants/{tenant.pk}/history/ews/").content.decode()
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert f'viewBox="0 0 {WIDTH} {HEIGHT}"' in svg and 'width="100%"' in svg
    assert svg.count("<rect ") == 3
    # Each bar is a link named by its title (the hover text): when, result, duration.
    titled = re.findall(r'<a href="/connectivity/runs/\d+/"><title>2026-11-2\d \d\d:\d\d: ', svg)
    assert len(titled) == 3
    assert "Could not run" in svg
    texts = re.findall(r'<text( class="tick-mid")? x="[\d.]+" y="\d+" text-anchor="(\w+)">', svg)
    assert texts == [("", "start"), (' class="tick-mid"', "middle"), ("", "end")]
    assert ">2026-11-20 08:00</text>" in svg


def test_history_page_in_russian_titles_bars_in_russian(viewer_client):
    tenant = _tenant()
    _runs(tenant, [RunStatus.FAIL])
    with translation.override("ru"):
        page = viewer_client.get(
            f"/connectivity/tenants/{tenant.pk}/history/ews/", HTTP_ACCEPT_LANGUAGE="ru"
        ).content.decode()
    assert "100 мс" in page
    assert "Failed" not in page[page.index("<svg") : page.index("</svg>")]


def test_every_recorded_target_type_has_a_name():
    recorded = {"runs.proberun", "runs.schedule", "runs.batch", "tenants.tenant", "jobs.job",
                "auth.user", "audit.log", "audit.chain", "portal.keys", "sso.provider",
                "url"}  # fmt: skip
    assert recorded <= set(TARGET_NAMES)
    assert target_name("runs.proberun") == "Connectivity run"
    assert target_name("something.new") == "something.new"  # unknown codes stay readable
    with translation.override("ru"):
        assert target_name("tenants.tenant") == "Клиент"


def test_audit_list_shows_target_names_not_codes(viewer_client):
    tenant = _tenant()
    run = ProbeRun.objects.create(tenant=tenant, probe="ews", status=RunStatus.PASS)
    record("run.finish", target=run, tenant=tenant)
    record("tenant.update", target=tenant, tenant=tenant)
    page = viewer_client.get("/audit/").content.decode()
    assert 'title="runs.proberun">Connectivity run</span>' in page
    assert 'title="tenants.tenant">Tenant</span>' in page
    assert ">runs.proberun<" not in page
    event = record("run.finish", target=run, tenant=tenant)
    detail = viewer_client.get(f"/audit/event/{event.seq}/").content.decode()
    assert 'title="runs.proberun">Connectivity run</span>' in detail


def test_audit_tenant_filter_takes_a_name(viewer_client):
    contoso, fabrikam = _tenant("Contoso"), _tenant("Fabrikam")
    record("tenant.update", target=contoso, tenant=contoso)
    record("tenant.update", target=fabrikam, tenant=fabrikam)

    def labels(**params):
        response = viewer_client.get("/audit/", params)
        assert response.status_code == 200
        return response, {e.tenant_label for e in response.context["events"]}

    response, found = labels(tenant="contoso")
    assert found == {"Contoso"}
    assert '<option value="Contoso">' in response.content.decode()  # offered in a list
    assert labels(tenant=str(fabrikam.pk))[1] == {"Fabrikam"}  # an id, as older links carry
    response, found = labels(tenant="Northwind")
    assert found == set()
    assert "No tenant is named “Northwind”" in response.content.decode()
    assert labels(target_type="tenants.tenant", tenant="Fabrikam")[1] == {"Fabrikam"}
