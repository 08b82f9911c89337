"""An EWS publish job started from the form in the browser, run by a real Celery worker against
the sandbox Exchange: the progress bar moves to 100 % and the summary appears, with no console
error, CSP violation or serious accessibility finding on the way."""

import uuid

import pytest
from django.utils import timezone

from portal.ewsjobs.models import EwsJob
from portal.grants.models import Application, Grant
from portal.tenants.sandbox import register_sandbox_tenant
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD
from tests.jobs.helpers import Worker

pytestmark = pytest.mark.browser

# Per mailbox. One thread, batches of 4, 200 ms per Exchange call: about six seconds of work,
# so the page (polling every 2 s) sees the bar between its ends.
EVENTS = 30


def _clean(page, where):
    assert page.problems.console_errors == [], where
    assert page.problems.csp_violations() == [], where
    assert page.problems.axe_violations() == [], where


@pytest.fixture
def publisher(transactional_db, sandbox_exchange, settings):
    from portal.celery import app as celery_app

    settings.EWS_JOB_BATCH = 4  # the page that starts the job cuts it into batches of this size
    celery_app.control.purge()  # messages of earlier tests would run against a flushed db
    info = sandbox_exchange.info
    tenant, _ = register_sandbox_tenant(info)
    admin = sandbox_exchange.admin_client()
    created = admin.create_app(f"browser-ews-{uuid.uuid4().hex[:8]}")
    boxes = [m["address"] for m in info["mailboxes"][:3]]
    app = Application.objects.create(
        tenant=tenant, name="Facilities", owner="Facilities", client_id=created["client_id"],
        credential_secret=created["client_secret"], protocols=["ews"],
    )  # fmt: skip
    grant = Grant.objects.create(
        application=app, model="rbac", role="Application EWS.AccessAsApp", scope="list",
        mailboxes=boxes, justification="Calendars", status="active",
        expires_at=timezone.now() + timezone.timedelta(days=30),
    )  # fmt: skip
    admin.set_grant(app.client_id, "list", boxes)
    admin.set_knobs(latency_ms=200)
    yield {"tenant": tenant, "grant": grant, "boxes": boxes}
    admin.set_knobs(latency_ms=0)
    admin.set_grant(app.client_id, "none")
    admin.close()


@pytest.fixture
def worker(tmp_path, publisher):
    w = Worker(tmp_path / "worker.log", "browser-ews", EWS_JOB_THREADS=1, EWS_JOB_RUNNERS=1)
    w.wait_ready()
    yield w
    w.stop()


def test_publish_from_the_form_and_watch_the_progress(page, live_server, operator_user,
                                                      publisher, worker):  # fmt: skip
    day = (timezone.now() + timezone.timedelta(days=7)).date()
    rows = "".join(f"Planning {i},{day}T{8 + i % 9:02d}:00,{day}T{8 + i % 9:02d}:30\n"
                   for i in range(EVENTS))  # fmt: skip
    sign_in(page, operator_user.username, PASSWORD)
    page.goto("/ews-jobs/")
    _clean(page, "empty list")
    page.get_by_role("link", name="New job").click()
    page.wait_for_url("**/ews-jobs/new/")
    page.get_by_role("link", name="Calendar publishing").click()
    page.wait_for_url("**/ews-jobs/new/publish/")
    page.get_by_label("Tenant").select_option(label=publisher["tenant"].name)
    page.get_by_label("Grant").select_option(str(publisher["grant"].pk))
    page.get_by_label("Mailbox addresses").fill("\n".join(publisher["boxes"]))
    page.get_by_label("What to create").select_option("file")
    assert not page.get_by_label("Subject").is_visible()  # the one-event fields step aside
    upload = {"name": "planning.csv", "mimeType": "text/csv",
              "buffer": f"subject,start,end\n{rows}".encode()}  # fmt: skip
    page.get_by_label("CSV or iCalendar file").set_input_files(files=[upload])
    _clean(page, "publish form")
    screenshot(page, "ews-publish-form")
    page.get_by_role("button", name="Start the job").click()
    page.wait_for_url("**/ews-jobs/*-*/")
    ewsjob = EwsJob.objects.get()
    assert page.url.endswith(f"/ews-jobs/{ewsjob.pk}/")
    bar = page.locator("#ewsjob-bar")
    # The partial is polled: the bar shows a value between the ends while the worker works.
    moving = ("() => { const v = +document.querySelector('#ewsjob-bar').value;"
              " return v > 0 && v < 100; }")  # fmt: skip
    try:
        page.wait_for_function(moving, timeout=60_000)
    except Exception:
        job = EwsJob.objects.select_related("job").get(pk=ewsjob.pk)
        raise AssertionError(f"{job.job.status} {job.done}/{job.total}\n{worker.text()[-3000:]}")
    assert page.locator("#ewsjob-live").get_attribute("hx-trigger") == "every 2s"
    screenshot(page, "ews-job-running")
    page.wait_for_function(
        "() => document.querySelector('#ewsjob-summary') !== null", timeout=120_000
    )
    assert bar.get_attribute("value") == "100"
    total = EVENTS * len(publisher["boxes"])
    summary = f"Items in place: {total} of {total} (mailboxes: 3)."
    assert page.locator("#ewsjob-summary").inner_text() == summary, worker.text()[-2000:]
    assert page.locator("#ewsjob-status").inner_text() == "Succeeded"
    assert page.locator("#ewsjob-live").get_attribute("hx-trigger") is None  # polling stopped
    assert page.locator("#ewsjob-counts").inner_text().startswith(f"{total} of {total}")
    screenshot(page, "ews-job-done")
    _clean(page, "finished job")
    page.goto("/ews-jobs/")
    assert page.locator("table.data tbody tr").count() == 1
    _clean(page, "list with the job")
