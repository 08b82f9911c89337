"""A run that cannot start shows its failing step and what to do — in words, with the field to
change (the web form's, never a command-line flag) and a link to the tenant's settings."""

import socket

import pytest

from portal.runs import runner
from portal.runs.models import Probe, ProbeRun, RunStatus
from portal.tenants.models import Tenant
from portal.tenants.sandbox import sandbox_tenant_fields

pytestmark = pytest.mark.django_db
RAW = ("HTTPSConnectionPool", "NameResolutionError", "Errno", "MaxRetryError", "Traceback")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(tenant, probe):
    return runner.execute(ProbeRun.objects.create(tenant=tenant, probe=probe))


def _only_step(run):
    assert run.status == RunStatus.ERROR
    assert len(run.steps) == 1 and run.steps[0]["status"] == "fail", run.steps
    step = run.steps[0]
    assert step["detail"] and step["hint"]
    assert not any(raw in step["detail"] + step["hint"] + run.error for raw in RAW), step
    return step


def _page(client, run):
    page = client.get(f"/connectivity/runs/{run.pk}/").content.decode()
    assert "What to do:" in page
    return page


def test_token_endpoint_that_does_not_resolve(operator_client, sandbox_exchange):
    tenant = Tenant.objects.create(
        name="Offline", **{**sandbox_tenant_fields(sandbox_exchange.info),
                           "token_url": "https://login.example.invalid/t/oauth2/v2.0/token"},
    )  # fmt: skip
    step = _only_step(_run(tenant, Probe.SMTP))
    assert step["name"] == runner.TOKEN_STEP
    assert "login.example.invalid" in step["detail"] and "could not be reached" in step["detail"]
    # NXDOMAIN where a resolver answers; "no DNS server answered" on a machine without one.
    assert "does not exist in DNS" in step["detail"] or "no DNS server answered" in step["detail"]
    _page(operator_client, ProbeRun.objects.get())


def test_token_endpoint_that_refuses_connections(sandbox_exchange):
    tenant = Tenant.objects.create(
        name="Down", **{**sandbox_tenant_fields(sandbox_exchange.info),
                        "token_url": f"https://127.0.0.1:{free_port()}/t/oauth2/v2.0/token"},
    )  # fmt: skip
    step = _only_step(_run(tenant, Probe.IMAP))
    assert "connection refused" in step["detail"]


def test_untrusted_token_endpoint_names_the_form_field_and_links_to_it(
    admin_client, operator_client, sandbox_exchange
):
    tenant = Tenant.objects.create(
        name="No CA", **{**sandbox_tenant_fields(sandbox_exchange.info), "ca_bundle": ""}
    )
    run = _run(tenant, Probe.POP3)
    step = _only_step(run)
    assert "certificate is not trusted" in step["detail"] and step["fix"] == "tenant_edit"
    page = _page(admin_client, run)
    assert "Custom CA bundle (PEM)" in page and "--ca-file" not in page and "{ca_file}" not in page
    assert f'href="/tenants/{tenant.pk}/edit/"' in page
    # Operators cannot edit tenants: no link to a page that would refuse them.
    operator_page = _page(operator_client, run)
    assert "/edit/" not in operator_page and "A portal Admin can change" in operator_page


def test_missing_host_links_to_the_tenant_form(admin_client):
    tenant = Tenant.objects.create(name="On-prem", kind=Tenant.Kind.SERVER,
                                   auth_method=Tenant.Auth.BASIC)  # fmt: skip
    run = _run(tenant, Probe.IMAP)
    step = _only_step(run)
    assert step["name"] == runner.SETTINGS_STEP and "no IMAP host" in step["detail"]
    assert f'href="/tenants/{tenant.pk}/edit/"' in _page(admin_client, run)


def test_adhoc_ca_bundle_is_validated_and_used_for_that_run_only(
    operator_client, sandbox_exchange, eager_celery, django_capture_on_commit_callbacks
):
    info = sandbox_exchange.info
    port = int(info["ews_url"].split(":")[2].split("/")[0])
    form = {"probe": "tls", "host": "127.0.0.1", "port": port}
    for bad in (
        "not a certificate",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    ):
        response = operator_client.post("/connectivity/adhoc/", {**form, "ca_bundle": bad})
        assert response.status_code == 200 and not ProbeRun.objects.exists()
    with open(info["ca_file"]) as fh:
        pem = fh.read()
    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post("/connectivity/adhoc/", {**form, "ca_bundle": pem})
        operator_client.post("/connectivity/adhoc/", form)
    trusted, untrusted = ProbeRun.objects.order_by("id")
    chain = {r.pk: next(s for s in r.steps if s["name"] == "Certificate chain") for r in
             (trusted, untrusted)}  # fmt: skip
    assert trusted.status == RunStatus.PASS and chain[trusted.pk]["status"] == "pass"
    assert chain[untrusted.pk]["status"] == "fail"
    page = _page(operator_client, untrusted)
    assert "Custom CA bundle (PEM)" in page and "--ca-file" not in page
    assert "BEGIN CERTIFICATE" not in _page_text(operator_client, trusted)


def _page_text(client, run):
    return client.get(f"/connectivity/runs/{run.pk}/").content.decode()
