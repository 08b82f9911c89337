"""Connectivity runs from the portal against real peers: the sandbox Exchange and its SMTP."""

import re

import pytest
from django.core import mail

from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from portal.runs import runner
from portal.runs.models import TENANT_PROBES, Probe, ProbeRun, RunStatus, Schedule
from portal.runs.tasks import dispatch_due_schedules
from portal.tenants.models import Tenant

pytestmark = pytest.mark.django_db


def _run(tenant, probe):
    return runner.execute(ProbeRun.objects.create(tenant=tenant, probe=probe))


@pytest.mark.parametrize(
    "probe", [Probe.EWS, Probe.AUTODISCOVER, Probe.MAPI, Probe.TLS, Probe.SMTP]
)
def test_tenant_probes_pass_against_the_sandbox(sandbox_tenant, probe):
    run = _run(sandbox_tenant, probe)
    assert run.status in {RunStatus.PASS, RunStatus.WARN}, run.steps or run.error
    assert run.steps and all(s["status"] != "fail" for s in run.steps)
    assert run.finished_at and run.duration_ms is not None
    secret = sandbox_tenant.client_secret
    assert secret not in str(run.steps)


def test_smtp_run_authenticates_with_xoauth2(sandbox_tenant):
    run = _run(sandbox_tenant, Probe.SMTP)
    auth = next(s for s in run.steps if s["name"] == "Authenticate")
    assert auth["status"] == "pass" and "XOAUTH2" in auth["detail"]


def test_certificate_credentials_tenant(sandbox_tenant, sandbox_exchange):
    import trustme

    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        "portal.test", key_type=trustme.KeyType.RSA
    )
    admin = sandbox_exchange.admin_client()
    app = admin.create_app("portal-cert-app", scope="all")
    admin.set_app_certificate(app["client_id"], leaf.cert_chain_pems[0].bytes().decode())
    sandbox_tenant.auth_method = "oauth_cert"
    sandbox_tenant.client_id = app["client_id"]
    sandbox_tenant.client_secret = ""
    sandbox_tenant.certificate_pem = leaf.private_key_and_cert_chain_pem.bytes().decode()
    sandbox_tenant.save()
    run = _run(sandbox_tenant, Probe.EWS)
    assert run.status in {RunStatus.PASS, RunStatus.WARN}, run.steps or run.error
    assert any(s["name"] == "Service account: delete item" for s in run.steps)


def test_tls_run_records_days_to_certificate_expiry(sandbox_tenant):
    run = _run(sandbox_tenant, Probe.TLS)
    assert run.cert_days_left is not None and run.cert_days_left > 30


def test_basic_smtp_submission_and_wrong_password(basic_smtp_tenant):
    ok = _run(basic_smtp_tenant, Probe.SMTP)
    assert ok.status in {RunStatus.PASS, RunStatus.WARN}, ok.steps
    assert any(s["name"] == "Authenticate" and s["status"] == "pass" for s in ok.steps)
    basic_smtp_tenant.password = "wrong-password"
    basic_smtp_tenant.save()
    bad = _run(basic_smtp_tenant, Probe.SMTP)
    assert bad.status == RunStatus.FAIL
    auth = next(s for s in bad.steps if s["name"] == "Authenticate")
    assert auth["status"] == "fail" and "535" in auth["detail"] and auth["hint"]
    assert "wrong-password" not in str(bad.steps)


def test_a_tenant_without_test_mailbox_cannot_run_ews(sandbox_tenant):
    sandbox_tenant.test_mailbox = ""
    sandbox_tenant.save()
    run = _run(sandbox_tenant, Probe.EWS)
    assert run.status == RunStatus.ERROR
    assert "test mailbox" in run.error


def test_run_from_the_tenant_page(
    operator_client, sandbox_tenant, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            f"/connectivity/tenants/{sandbox_tenant.pk}/run/", {"probe": "ews"}
        )
    run = ProbeRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/connectivity/runs/{run.pk}/"
    run.refresh_from_db()
    assert run.status in {RunStatus.PASS, RunStatus.WARN}
    assert run.started_by.username == "oscar-operator"
    assert Job.objects.get(pk=run.job_id).status == Job.Status.SUCCEEDED
    event = AuditEvent.objects.get(action="connectivity.run")
    assert event.job_id == str(run.job_id) and event.actor_username == "oscar-operator"
    page = operator_client.get(f"/connectivity/runs/{run.pk}/")
    assert b"GetFolder Inbox" in page.content
    partial = operator_client.get(f"/connectivity/runs/{run.pk}/", HTTP_HX_REQUEST="true")
    assert b'id="run-live"' in partial.content and b"<nav" not in partial.content


def test_viewer_cannot_run_and_unknown_probe_is_refused(
    viewer_client, operator_client, sandbox_tenant
):
    url = f"/connectivity/tenants/{sandbox_tenant.pk}/run/"
    assert viewer_client.post(url, {"probe": "ews"}).status_code == 403
    assert operator_client.post(url, {"probe": "rm -rf"}).status_code == 302
    assert not ProbeRun.objects.exists()


def test_adhoc_run_never_stores_the_password(
    operator_client, basic_smtp_tenant, sandbox_exchange, eager_celery,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    info = sandbox_exchange.info
    mailbox = info["mailboxes"][1]
    form = {
        "probe": "smtp",
        "host": info["smtp_host"],
        "port": info["smtp_port"],
        "security": "none",
        "username": mailbox["address"],
        "password": mailbox["password"],
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post("/connectivity/adhoc/", form)
    assert response.status_code == 302
    run = ProbeRun.objects.get(tenant=None)
    assert mailbox["password"] not in str(run.params) and "password" not in run.params
    start = AuditEvent.objects.get(action="job.start")
    assert mailbox["password"] not in str(start.after)
    # security=none on a server that requires TLS for AUTH: the credential is never sent.
    run.refresh_from_db()
    assert run.status == RunStatus.FAIL
    assert mailbox["password"] not in str(run.steps)


@pytest.mark.parametrize(
    "change,field",
    [
        ({"host": "mail.contoso.com\r\nQUIT"}, "host"),
        ({"host": "bad host name"}, "host"),
        ({"mail_from": "a@b.com\r\nRCPT TO:<x@y.z>", "rcpt_to": "c@d.com"}, "mail_from"),
        ({"probe": "tcp", "port": ""}, "port"),
        ({"port": "0"}, "port"),
    ],
)
def test_adhoc_bad_input_runs_nothing(operator_client, change, field):
    form = {"probe": "smtp", "host": "mail.contoso.com", "port": "587", "security": "starttls"}
    response = operator_client.post("/connectivity/adhoc/", {**form, **change})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not ProbeRun.objects.exists() and not Job.objects.exists()


def test_adhoc_refuses_cloud_metadata_before_connecting(
    operator_client, eager_celery, django_capture_on_commit_callbacks
):
    form = {"probe": "tcp", "host": "169.254.169.254", "port": "80"}
    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post("/connectivity/adhoc/", form)
    run = ProbeRun.objects.get()
    assert run.status == RunStatus.FAIL
    resolve = run.steps[0]
    assert resolve["status"] == "fail" and re.search("link-local|metadata", resolve["detail"])
    assert all(s["status"] == "skip" for s in run.steps[1:])


def test_schedule_runs_when_due_and_mails_on_change(
    transactional_db, operator_client, basic_smtp_tenant, eager_celery,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    # Transactional: the due runs are probed in the job's threads, which see committed rows only.
    url = f"/connectivity/tenants/{basic_smtp_tenant.pk}/schedule/"
    response = operator_client.post(
        url,
        {
            "probe": "smtp",
            "interval_minutes": 5,
            "enabled": "on",
            "notify_text": "noc@contoso.test",
        },
    )
    assert response.status_code == 302
    schedule = Schedule.objects.get()
    assert schedule.notify_emails == ["noc@contoso.test"]
    assert AuditEvent.objects.filter(action="schedule.create").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due_schedules() == {"started": 1, "not_started": 0}
        # the next one is due in 5 minutes
        assert dispatch_due_schedules() == {"started": 0, "not_started": 0}
    first = ProbeRun.objects.get(schedule=schedule)
    assert first.status in {RunStatus.PASS, RunStatus.WARN}
    assert mail.outbox == []  # the first result is no change
    basic_smtp_tenant.password = "now-wrong"
    basic_smtp_tenant.save()
    Schedule.objects.filter(pk=schedule.pk).update(next_due=first.created_at)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due_schedules()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["noc@contoso.test"]
    assert "→ fail" in message.subject and "Authenticate" in message.body
    assert AuditEvent.objects.filter(action="connectivity.notify").count() == 1


def test_schedule_validation(operator_client, basic_smtp_tenant):
    url = f"/connectivity/tenants/{basic_smtp_tenant.pk}/schedule/"
    operator_client.post(url, {"probe": "smtp", "interval_minutes": 0, "enabled": "on"})
    operator_client.post(
        url,
        {"probe": "smtp", "interval_minutes": 5, "notify_text": "noc@contoso.test\r\nBcc: x@y.z"},
    )
    assert not Schedule.objects.exists()


def test_test_everything_respects_the_concurrency_bound(
    transactional_db, operator_client, sandbox_tenant, basic_smtp_tenant, sandbox_exchange,
    settings, eager_celery, django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.CONNECTIVITY_CONCURRENCY = 3
    # No accepted domain: the DNS test is refused up front instead of asking the machine's
    # resolver about sandbox.test (tests never send traffic off this host).
    Tenant.objects.update(accepted_domains=[])
    admin = sandbox_exchange.admin_client()
    admin.set_knobs(latency_ms=150)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = operator_client.post("/connectivity/everything/")
    finally:
        admin.set_knobs(latency_ms=0)
    job = Job.objects.get(kind="connectivity.everything")
    assert response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    runs = list(ProbeRun.objects.all())
    assert len(runs) == 2 * len(TENANT_PROBES)
    assert job.status == Job.Status.SUCCEEDED and job.progress == 100
    assert all(r.is_done for r in runs)
    # Never more than three runs were in flight at the same moment.
    edges = sorted([(r.started_at, 1) for r in runs] + [(r.finished_at, -1) for r in runs])
    in_flight = peak = 0
    for _, delta in edges:
        in_flight += delta
        peak = max(peak, in_flight)
    assert 1 < peak <= 3


def test_history_timeline_and_constant_queries(
    viewer_client, sandbox_tenant, django_assert_max_num_queries
):
    def add(n, status):
        for _ in range(n):
            ProbeRun.objects.create(tenant=sandbox_tenant, probe="ews", status=status,
                                    duration_ms=100)  # fmt: skip

    add(3, RunStatus.PASS)
    url = f"/connectivity/tenants/{sandbox_tenant.pk}/history/ews/"
    with django_assert_max_num_queries(20) as few:
        page = viewer_client.get(url)
    assert page.content.count(b'class="bar bar-pass"') == 3
    add(40, RunStatus.FAIL)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = viewer_client.get(url)
    assert page.content.count(b'class="bar bar-fail"') == 40
    assert (
        viewer_client.get(f"/connectivity/tenants/{sandbox_tenant.pk}/history/x/").status_code
        == 404
    )


def test_overview_and_tiles_queries_stay_constant(
    viewer_client, sandbox_tenant, basic_smtp_tenant, django_assert_max_num_queries
):
    ProbeRun.objects.create(
        tenant=sandbox_tenant,
        probe="tls",
        status=RunStatus.WARN,
        cert_days_left=9,
        target="sandbox:443",
    )
    ProbeRun.objects.create(tenant=basic_smtp_tenant, probe="smtp", status=RunStatus.FAIL)
    tiles = viewer_client.get("/connectivity/tiles/")
    assert b"9 days left" in tiles.content
    assert b"Failing tests" in tiles.content and b"On-prem relay" in tiles.content
    for url in (
        "/connectivity/",
        "/connectivity/tiles/",
        f"/connectivity/tenants/{sandbox_tenant.pk}/",
    ):
        with django_assert_max_num_queries(25) as few:
            viewer_client.get(url)
        for probe in TENANT_PROBES:
            for _ in range(3):
                ProbeRun.objects.create(tenant=sandbox_tenant, probe=probe, status=RunStatus.PASS)
        with django_assert_max_num_queries(len(few.captured_queries)):
            viewer_client.get(url)


@pytest.mark.parametrize("probe", [Probe.EWS, Probe.MAPI, Probe.SMTP])
def test_tls_verification_on_refuses_an_untrusted_server_and_off_only_warns(
    sandbox_tenant, basic_smtp_tenant, probe
):
    tenant = basic_smtp_tenant if probe == Probe.SMTP else sandbox_tenant
    tenant.ca_bundle = ""  # the sandbox's private CA is now unknown to the portal
    tenant.save()
    refused = _run(tenant, probe)
    if probe == Probe.MAPI:
        # The bearer token comes first, and its endpoint shares the untrusted certificate.
        assert refused.status == RunStatus.ERROR and "certificate" in refused.error
    else:
        assert refused.status == RunStatus.FAIL
        chain = next(s for s in refused.steps if s["name"] == "Certificate chain")
        assert chain["status"] == "fail" and "untrusted CA" in chain["detail"]
    assert all(
        s["status"] in {"fail", "skip"} for s in refused.steps if "credential" in s["detail"]
    )

    tenant.tls_verify = False
    tenant.save()
    tolerated = _run(tenant, probe)
    assert tolerated.status == RunStatus.WARN, tolerated.steps
    chain = next(s for s in tolerated.steps if s["name"] == "Certificate chain")
    assert chain["status"] == "warn" and chain["detail"].startswith("not enforced: untrusted CA")
    assert "turned off" in chain["hint"]


def test_dns_run_asks_the_tenants_own_dns_server(sandbox_tenant):
    from tests.connectivity.probe_dnsserver import dns_server

    records = {
        "sandbox.test.": [("A", "127.0.0.1"), ("MX", "10 mail.sandbox.test.")],
        "mail.sandbox.test.": [("A", "127.0.0.1")],
        "autodiscover.sandbox.test.": [("CNAME", "mail.sandbox.test.")],
        "_autodiscover._tcp.sandbox.test.": [("SRV", "0 0 443 mail.sandbox.test.")],
    }
    with dns_server(records) as (port, queries):
        sandbox_tenant.dns_server = f"127.0.0.1:{port}"
        sandbox_tenant.save()
        run = _run(sandbox_tenant, Probe.DNS)
    assert run.status == RunStatus.PASS, run.steps
    assert queries, "the tenant's DNS server was not asked"
    mx = next(s for s in run.steps if s["name"] == "MX records")
    assert "mail.sandbox.test" in mx["detail"]


@pytest.mark.parametrize("value", ["dns.contoso.com", "10.0.0.53:99999", "1.2.3.4:x"])
def test_dns_server_must_be_an_ip(reauthenticated_admin_client, sandbox_tenant, value):
    from portal.tenants.forms import TenantForm

    form = TenantForm(instance=sandbox_tenant, data={
        **{f: getattr(sandbox_tenant, f) for f in TenantForm.Meta.fields},
        "accepted_domains_text": "sandbox.test", "dns_server": value,
    })  # fmt: skip
    assert not form.is_valid() and "dns_server" in form.errors
