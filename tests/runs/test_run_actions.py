"""What a person does with runs besides starting one: run again, run all of a tenant's tests,
follow a result to its run, watch the running step, download a run and copy it for a ticket."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.audit.models import AuditEvent
from portal.jobs.api import WITHHELD
from portal.jobs.models import Job
from portal.runs.forms import AdhocForm, ScheduleForm
from portal.runs.models import TENANT_PROBES, Probe, ProbeRun, RunStatus, Schedule
from portal.tenants.models import Tenant

pytestmark = pytest.mark.django_db

STEPS = [
    {"name": "Resolve host", "status": "pass", "detail": "127.0.0.1", "hint": "", "ms": 2},
    {"name": "TCP connect", "status": "pass", "detail": "connected", "hint": "", "ms": 3},
    {"name": "Banner", "status": "fail", "detail": "no greeting in 10 s", "ms": 10_000,
     "hint": "Check that the server answers on this port."},
]  # fmt: skip


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


# -- Forms only offer what they can save; "Test", never "Probe" ---------------------------------


def test_the_schedule_form_offers_exactly_the_tenant_tests(operator_client, sandbox_tenant):
    offered = [value for value, _ in ScheduleForm().fields["probe"].choices]
    assert offered == [p.value for p in TENANT_PROBES]
    panel = operator_client.get(f"/connectivity/tenants/{sandbox_tenant.pk}/").content.decode()
    select = re.search(r'<select name="probe".*?</select>', panel, re.S).group(0)
    assert re.findall(r'value="([^"]+)"', select) == [p.value for p in TENANT_PROBES]
    assert 'value="tcp"' not in select
    # Posted anyway, TCP is refused with words and nothing is saved.
    url = f"/connectivity/tenants/{sandbox_tenant.pk}/schedule/"
    response = operator_client.post(url, {"probe": "tcp", "interval_minutes": 5}, follow=True)
    assert not Schedule.objects.exists()
    assert "Schedule not saved" in response.content.decode()


def test_pages_say_test_never_probe(admin_client, sandbox_tenant):
    run = ProbeRun.objects.create(tenant=sandbox_tenant, probe=Probe.SMTP,
                                  status=RunStatus.FAIL, steps=STEPS)  # fmt: skip
    adhoc = ProbeRun.objects.create(probe=Probe.TCP, params={"host": "192.0.2.1", "port": 25},
                                    status=RunStatus.PASS, steps=STEPS[:2])  # fmt: skip
    pages = [
        "/connectivity/", "/connectivity/adhoc/", f"/connectivity/tenants/{sandbox_tenant.pk}/",
        f"/connectivity/tenants/{sandbox_tenant.pk}/history/smtp/", f"/connectivity/runs/{run.pk}/",
        f"/connectivity/runs/{adhoc.pk}/", f"/tenants/{sandbox_tenant.pk}/", "/",
    ]  # fmt: skip
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        text = _visible_text(response.content.decode())
        assert not re.search(r"\bprobes?\b", text, re.I), (url, re.findall(r".{30}probe.{30}", text, re.I))  # fmt: skip  # noqa: E501
    assert str(AdhocForm().fields["probe"].label) == "Test"
    assert str(ScheduleForm().fields["probe"].label) == "Test"


# -- "Test a host": only the chosen test's fields, usual ports, a CA file -----------------------


def test_the_adhoc_form_marks_each_field_with_its_tests_and_offers_the_usual_ports(
    operator_client,
):
    html = operator_client.get("/connectivity/adhoc/").content.decode()
    assert 'enctype="multipart/form-data"' in html and "data-dynamic-form" in html
    shown = {
        field: set(tests.split(","))
        for tests, field in re.findall(
            r'data-show-if="probe=([a-z0-9,]+)"[^>]*>\s*<label for="id_(\w+)"', html
        )
    }
    assert shown["port"] == {"smtp", "imap", "pop3", "tls", "tcp"}
    assert shown["security"] == shown["username"] == shown["password"] == {"smtp", "imap", "pop3"}
    assert shown["mail_from"] == shown["rcpt_to"] == {"smtp"}
    assert shown["ca_bundle"] == shown["ca_file"] == {"smtp", "imap", "pop3", "tls"}
    assert "host" not in shown and "probe" not in shown  # every test has them
    defaults = json.loads(re.search(r"data-defaults=\"([^\"]+)\"", html).group(1)
                          .replace("&quot;", '"'))  # fmt: skip
    assert defaults == {
        "smtp": {"port": 587, "security": "starttls"}, "imap": {"port": 993, "security": "tls"},
        "pop3": {"port": 995, "security": "tls"}, "tls": {"port": 443, "security": ""},
        "tcp": {"port": None, "security": ""}, "dns": {"port": None, "security": ""},
    }  # fmt: skip


@pytest.mark.parametrize(
    "probe,expected",
    [
        ("smtp", {"port": 587, "security": "starttls"}),
        ("imap", {"port": 993, "security": "tls"}),
        ("pop3", {"port": 995, "security": "tls"}),
        ("tls", {"port": 443}),
    ],
)
def test_an_empty_port_and_security_take_the_tests_usual_ones(probe, expected):
    form = AdhocForm({"probe": probe, "host": "mail.contoso.com", "port": "", "security": ""})
    assert form.is_valid(), form.errors
    assert form.params() == {"host": "mail.contoso.com", **expected}


def test_fields_the_chosen_test_does_not_use_are_ignored_not_refused():
    # A DNS test: the hidden port, sender and credentials are left over from another choice.
    form = AdhocForm({"probe": "dns", "host": "contoso.com", "port": "0", "security": "tls",
                      "username": "a\nb", "mail_from": "x@y.z", "ca_bundle": "junk"})  # fmt: skip
    assert form.is_valid(), form.errors
    assert form.params() == {"host": "contoso.com"}
    tcp = AdhocForm({"probe": "tcp", "host": "192.0.2.1", "port": ""})
    assert not tcp.is_valid() and "port" in tcp.errors  # TCP has no usual port


def _sandbox_tls_form(sandbox_tenant):
    host, port = "127.0.0.1", int(sandbox_tenant.ews_url.split(":")[2].split("/")[0])
    return {"probe": "tls", "host": host, "port": port}


def test_the_ca_bundle_can_be_uploaded_as_a_file(
    operator_client, sandbox_tenant, eager_celery, django_capture_on_commit_callbacks
):
    form = _sandbox_tls_form(sandbox_tenant)
    pem = sandbox_tenant.ca_bundle.encode()
    with django_capture_on_commit_callbacks(execute=True):
        without = operator_client.post("/connectivity/adhoc/", form)
        upload = SimpleUploadedFile("sandbox-ca.pem", pem, "application/x-pem-file")
        trusted = operator_client.post("/connectivity/adhoc/", {**form, "ca_file": upload})
    assert without.status_code == trusted.status_code == 302
    untrusted_run, trusted_run = ProbeRun.objects.order_by("pk")
    chain = {s["name"]: s for s in untrusted_run.steps}["Certificate chain"]
    assert chain["status"] == "fail"
    assert trusted_run.params["ca_bundle"].strip() == pem.decode().strip()
    chain = {s["name"]: s for s in trusted_run.steps}["Certificate chain"]
    assert chain["status"] == "pass", chain
    assert trusted_run.status in {RunStatus.PASS, RunStatus.WARN}, trusted_run.steps


@pytest.mark.parametrize(
    "content,pasted,message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "", "not a binary one"),
        (b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", "", "private key"),
        (b"hello", "", "PEM certificates"),
        (b"x" * 200_001, "", "larger than 200 KB"),
        (None, "PEM", "not both"),
    ],
)
def test_a_bad_ca_file_is_refused_in_words(
    operator_client, sandbox_tenant, content, pasted, message
):
    form = _sandbox_tls_form(sandbox_tenant)
    pem = sandbox_tenant.ca_bundle
    upload = SimpleUploadedFile("ca.pem", content if content is not None else pem.encode())
    data = {**form, "ca_file": upload, "ca_bundle": pem if pasted else ""}
    response = operator_client.post("/connectivity/adhoc/", data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["ca_file"])
    assert not ProbeRun.objects.exists() and not Job.objects.exists()


# -- Run again ----------------------------------------------------------------------------------


def test_run_again_starts_the_same_test_for_the_same_tenant(
    operator_client, viewer_client, basic_smtp_tenant, eager_celery,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    first = ProbeRun.objects.create(tenant=basic_smtp_tenant, probe=Probe.SMTP,
                                    status=RunStatus.FAIL, steps=STEPS)  # fmt: skip
    url = f"/connectivity/runs/{first.pk}/again/"
    page = operator_client.get(f"/connectivity/runs/{first.pk}/").content.decode()
    assert f'action="{url}"' in page and 'name="password"' not in page
    assert viewer_client.post(url).status_code == 403
    assert (
        f'action="{url}"'
        not in viewer_client.get(f"/connectivity/runs/{first.pk}/").content.decode()
    )
    assert operator_client.get(url).status_code == 405
    assert operator_client.post("/connectivity/runs/999999/again/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(url)
    again = ProbeRun.objects.exclude(pk=first.pk).get()
    assert response["Location"] == f"/connectivity/runs/{again.pk}/"
    assert (again.tenant, again.probe, again.started_by.username) == (
        basic_smtp_tenant, Probe.SMTP, "oscar-operator")  # fmt: skip
    assert again.status in {RunStatus.PASS, RunStatus.WARN}, again.steps  # a real SMTP peer
    start = AuditEvent.objects.filter(action="job.start")
    assert start.count() == 1 and start.get().target_id == str(again.job_id)


def test_run_again_of_an_adhoc_run_asks_for_the_password_again(
    operator_client, basic_smtp_tenant, sandbox_exchange, eager_celery,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    info = sandbox_exchange.info
    mailbox = info["mailboxes"][1]
    form = {"probe": "smtp", "host": info["smtp_host"], "port": info["smtp_port"],
            "security": "none", "username": mailbox["address"],
            "password": mailbox["password"]}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post("/connectivity/adhoc/", form)
    first = ProbeRun.objects.get()
    page = operator_client.get(f"/connectivity/runs/{first.pk}/").content.decode()
    assert 'name="password"' in page and mailbox["password"] not in page
    url = f"/connectivity/runs/{first.pk}/again/"
    refused = operator_client.post(url, follow=True)
    assert "Type the password again" in refused.content.decode()
    assert operator_client.post(url, {"password": "a\r\nb"}).status_code == 302
    assert ProbeRun.objects.count() == 1 and Job.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post(url, {"password": mailbox["password"]})
    again = ProbeRun.objects.exclude(pk=first.pk).get()
    assert again.params == first.params and "password" not in again.params
    assert again.job.kwargs["sealed_password"] == WITHHELD
    assert again.status == first.status  # the same test against the same host
    assert mailbox["password"] not in json.dumps(again.steps)


# -- Run all tests of one tenant -----------------------------------------------------------------


def test_run_all_tests_of_one_tenant_is_one_job(
    transactional_db, operator_client, viewer_client, sandbox_tenant, basic_smtp_tenant,
    eager_celery, django_capture_on_commit_callbacks,
):  # fmt: skip
    # No accepted domain: the DNS test is refused up front (tests send no traffic off this host).
    Tenant.objects.update(accepted_domains=[])
    url = f"/connectivity/tenants/{sandbox_tenant.pk}/run-all/"
    panel = operator_client.get(f"/connectivity/tenants/{sandbox_tenant.pk}/").content.decode()
    assert f'action="{url}"' in panel and "Run all tests" in panel
    assert "Run all tests" not in viewer_client.get(
        f"/connectivity/tenants/{sandbox_tenant.pk}/").content.decode()  # fmt: skip
    assert viewer_client.post(url).status_code == 403
    assert operator_client.get(url).status_code == 405
    assert operator_client.post("/connectivity/tenants/999999/run-all/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(url)
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.kind == "connectivity.everything" and job.kwargs == {
        "tenant_ids": [sandbox_tenant.pk]
    }
    assert job.tenant_id == str(sandbox_tenant.pk)
    runs = ProbeRun.objects.filter(job=job)
    assert sorted(r.probe for r in runs) == sorted(p.value for p in TENANT_PROBES)
    assert not ProbeRun.objects.filter(tenant=basic_smtp_tenant).exists()
    assert all(r.is_done for r in runs)
    assert AuditEvent.objects.filter(action="job.start").count() == 1


def test_run_all_tests_without_a_queue_says_why(transactional_db, operator_client, sandbox_tenant):
    from tests.jobs.helpers import unwritable_filesystem_broker

    with unwritable_filesystem_broker():
        response = operator_client.post(
            f"/connectivity/tenants/{sandbox_tenant.pk}/run-all/", follow=True
        )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"/tenants/{sandbox_tenant.pk}/"
    assert "The job queue is not available" in response.content.decode()
    assert Job.objects.get().status == Job.Status.FAILED
    assert not ProbeRun.objects.exclude(status=RunStatus.ERROR).exists()


# -- Result badges link to their run -------------------------------------------------------------


def test_result_badges_link_to_their_run(viewer_client, sandbox_tenant):
    old = ProbeRun.objects.create(tenant=sandbox_tenant, probe=Probe.EWS, status=RunStatus.FAIL)
    new = ProbeRun.objects.create(tenant=sandbox_tenant, probe=Probe.EWS, status=RunStatus.PASS)
    badge = r'<a[^>]*href="/connectivity/runs/{}/"[^>]*>\s*<span class="status status-{}"'
    overview = viewer_client.get("/connectivity/").content.decode()
    assert re.search(badge.format(new.pk, "pass"), overview)
    assert f"/connectivity/tenants/{sandbox_tenant.pk}/history/ews/" in overview
    panel = viewer_client.get(f"/connectivity/tenants/{sandbox_tenant.pk}/").content.decode()
    assert re.search(badge.format(new.pk, "pass"), panel)
    history = viewer_client.get(
        f"/connectivity/tenants/{sandbox_tenant.pk}/history/ews/"
    ).content.decode()
    assert re.search(badge.format(new.pk, "pass"), history)
    assert re.search(badge.format(old.pk, "fail"), history)


# -- The running step ---------------------------------------------------------------------------


def test_the_step_in_progress_is_marked_running(viewer_client, sandbox_tenant):
    ProbeRun.objects.create(tenant=sandbox_tenant, probe=Probe.SMTP, status=RunStatus.FAIL,
                            steps=STEPS)  # fmt: skip
    queued = ProbeRun.objects.create(tenant=sandbox_tenant, probe=Probe.SMTP)
    page = viewer_client.get(f"/connectivity/runs/{queued.pk}/").content.decode()
    assert "Waiting for the first step" in page and "step-running" not in page
    running = ProbeRun.objects.create(tenant=sandbox_tenant, probe=Probe.SMTP,
                                      status=RunStatus.RUNNING, steps=STEPS[:1])  # fmt: skip
    live = viewer_client.get(f"/connectivity/runs/{running.pk}/", HTTP_HX_REQUEST="true")
    marker = re.search(r'<li class="step step-running">.*?</li>', live.content.decode(), re.S)
    assert marker and "TCP connect" in marker.group(0) and "running" in marker.group(0)
    running.steps = STEPS[:2]
    running.save()
    live = viewer_client.get(f"/connectivity/runs/{running.pk}/", HTTP_HX_REQUEST="true")
    marker = re.search(r'<li class="step step-running">.*?</li>', live.content.decode(), re.S)
    assert "Banner" in marker.group(0)
    # A test never run before: the marker is there, without a name it cannot know.
    first = ProbeRun.objects.create(tenant=sandbox_tenant, probe=Probe.POP3,
                                    status=RunStatus.RUNNING)  # fmt: skip
    page = viewer_client.get(f"/connectivity/runs/{first.pk}/").content.decode()
    assert re.search(r'step-running">.*?Next step.*?running', page, re.S)
    # "Test a host": the last run of the same test against the same host.
    host = {"host": "192.0.2.7", "port": 25}
    ProbeRun.objects.create(probe=Probe.SMTP, params=host, steps=STEPS, status=RunStatus.FAIL)
    other = [*STEPS[:2], {"name": "EHLO", "status": "pass", "detail": "", "hint": "", "ms": 1}]
    ProbeRun.objects.create(probe=Probe.SMTP, params={"host": "192.0.2.8"}, steps=other,
                            status=RunStatus.PASS)  # fmt: skip
    adhoc = ProbeRun.objects.create(probe=Probe.SMTP, params=host, status=RunStatus.RUNNING,
                                    steps=STEPS[:2])  # fmt: skip
    page = viewer_client.get(f"/connectivity/runs/{adhoc.pk}/").content.decode()
    assert re.search(r'step-running">.*?Banner.*?running', page, re.S)
    running.status = RunStatus.FAIL
    running.save()
    assert (
        "step-running"
        not in viewer_client.get(f"/connectivity/runs/{running.pk}/").content.decode()
    )


# -- Download and copy ---------------------------------------------------------------------------


def _finished_run(tenant):
    return ProbeRun.objects.create(
        tenant=tenant, probe=Probe.SMTP, status=RunStatus.FAIL, steps=STEPS, duration_ms=10_005,
        target="127.0.0.1:587",
    )  # fmt: skip


def test_a_run_downloads_as_json_without_secrets(
    viewer_client, admin_client, anon_client, sandbox_tenant
):
    run = _finished_run(sandbox_tenant)
    url = f"/connectivity/runs/{run.pk}/download.json"
    assert f'href="{url}"' in viewer_client.get(f"/connectivity/runs/{run.pk}/").content.decode()
    response = viewer_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="run-{run.pk}-smtp.json"'
    data = json.loads(response.content)
    assert data["id"] == run.pk and data["test"] == "smtp" and data["status"] == "fail"
    assert data["status_text"] == "Failed" and data["tenant"]["name"] == sandbox_tenant.name
    assert data["steps"] == STEPS and data["duration_ms"] == 10_005
    assert data["url"].endswith(f"/connectivity/runs/{run.pk}/")
    body = response.content.decode()
    for secret in (sandbox_tenant.client_secret, sandbox_tenant.password):
        assert not secret or secret not in body
    assert anon_client.get(url).status_code == 302  # to the sign-in page
    assert viewer_client.post(url).status_code == 403
    assert admin_client.post(url).status_code == 405
    assert viewer_client.get("/connectivity/runs/999999/download.json").status_code == 404


def test_an_adhoc_run_with_a_password_downloads_without_it(
    operator_client, basic_smtp_tenant, sandbox_exchange, eager_celery,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    info = sandbox_exchange.info
    mailbox = info["mailboxes"][1]
    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post("/connectivity/adhoc/", {
            "probe": "smtp", "host": info["smtp_host"], "port": info["smtp_port"],
            "security": "none", "username": mailbox["address"], "password": mailbox["password"],
        })  # fmt: skip
    run = ProbeRun.objects.get()
    body = operator_client.get(f"/connectivity/runs/{run.pk}/download.json").content.decode()
    assert json.loads(body)["params"]["username"] == mailbox["address"]
    assert mailbox["password"] not in body
    page = operator_client.get(f"/connectivity/runs/{run.pk}/").content.decode()
    assert mailbox["password"] not in page


def test_a_finished_run_offers_its_text_for_a_ticket(viewer_client, sandbox_tenant):
    run = _finished_run(sandbox_tenant)
    url = f"/connectivity/runs/{run.pk}/ticket/"
    page = viewer_client.get(f"/connectivity/runs/{run.pk}/").content.decode()
    assert f'hx-get="{url}"' in page and f'href="{url}"' in page  # loaded when opened
    for response in (viewer_client.get(url), viewer_client.get(url, HTTP_HX_REQUEST="true")):
        html = response.content.decode()
        text = re.search(r'<textarea id="ticket-text"[^>]*>(.*?)</textarea>', html, re.S).group(1)
        assert "Test: SMTP submission" in text and f"Tenant: {sandbox_tenant.name}" in text
        assert "Result: Failed" in text and "Duration: 10005 ms" in text
        assert "✗ Banner (10000 ms)" in text and "What to do: Check that the server answers" in text
        assert f"/connectivity/runs/{run.pk}/" in text
        button = re.search(r"<button[^>]*data-copy=\"ticket-text\"[^>]*>", html).group(0)
        assert " hidden" in button  # shown by the script only (it needs the clipboard API)
    assert "<nav" not in html  # the htmx render is the block alone
    running = ProbeRun.objects.create(tenant=sandbox_tenant, probe=Probe.SMTP,
                                      status=RunStatus.RUNNING)  # fmt: skip
    page = viewer_client.get(f"/connectivity/runs/{running.pk}/").content.decode()
    assert "/ticket/" not in page
    assert viewer_client.get("/connectivity/runs/999999/ticket/").status_code == 404
