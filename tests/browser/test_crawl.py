"""Crawl: each role follows every link the pages offer, in English and Russian, wide and narrow.

From "/" the crawler follows same-origin ``<a href>`` links breadth-first (links that htmx loads
into a page count too) and fails on any 5xx, console error, CSP violation, axe serious/critical
finding, or a page wider than a 390 px phone screen.  Every URL pattern it meets is visited at
least once; further instances of a pattern are capped so the crawl stays short.
"""

import socket
import threading
from collections import deque
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.urls import Resolver404, resolve
from django.utils import timezone

from portal.audit.api import record
from portal.grants.models import Application, Grant, GrantCheck
from portal.integrations import service as integration_service
from portal.integrations.models import Integration
from portal.jobs.models import Job
from portal.lib.access import Role
from portal.relay import testsend as relay_send
from portal.relay.models import RelayClient, RelayTest, Rotation
from portal.runs import runner
from portal.runs.models import ProbeRun, Schedule
from portal.tenants.models import Tenant
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.conftest import PASSWORD, make_user
from tests.ewsjobs.pages import add_found
from tests.ewsjobs.pages import make_job as make_ews_job

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
MAX_PAGES = 85
PER_PATTERN = 2
# Links that end the session or only answer POST; the crawl must not sign itself out.
SKIP_PREFIXES = ("/accounts/logout/", "/i18n/", "/static/")


@pytest.fixture
def portal_data(transactional_db):
    """Users with e-mail addresses, a tenant, runs that passed and failed (made by the real
    runner), a schedule, jobs, events."""
    roles = {"viewer": Role.VIEWER, "operator": Role.OPERATOR, "admin": Role.ADMIN}
    users = {name: make_user(f"crawl-{name}", role) for name, role in roles.items()}
    for user in users.values():
        # Two addresses: the e-mail page shows its row of actions (primary, re-send, remove).
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
        EmailAddress.objects.create(user=user, email=f"second-{user.email}", verified=False)
    tenant = Tenant.objects.create(
        name="Contoso (crawl)", kind="online", cloud="worldwide",
        directory_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        accepted_domains=["contoso.com"], auth_method="oauth_secret",
        client_id="11111111-2222-3333-4444-555555555555", client_secret="crawl-secret",
        test_mailbox="probe@contoso.com",
    )  # fmt: skip
    listener = socket.create_server(("127.0.0.1", 0))
    open_port = listener.getsockname()[1]
    accepting = threading.Thread(target=lambda: listener.accept()[0].close(), daemon=True)
    accepting.start()
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens here any more: the run fails with a real refusal
    operator = users["operator"]
    adhoc_pass = ProbeRun.objects.create(
        probe="tcp", started_by=operator, params={"host": "127.0.0.1", "port": open_port}
    )
    runner.execute(adhoc_pass)
    adhoc_fail = ProbeRun.objects.create(
        probe="tcp", started_by=operator, params={"host": "127.0.0.1", "port": closed_port}
    )
    runner.execute(adhoc_fail)
    accepting.join(timeout=5)
    listener.close()
    # The tenant's SMTP endpoint refuses the connection: a real failed tenant run.
    Tenant.objects.filter(pk=tenant.pk).update(smtp_host="127.0.0.1", smtp_port=closed_port)
    tenant.refresh_from_db()
    runner.execute(ProbeRun.objects.create(tenant=tenant, probe="smtp", started_by=operator))
    Schedule.objects.create(tenant=tenant, probe="tls", interval_minutes=60,
                            next_due="2099-01-01T00:00:00Z")  # fmt: skip
    Job.objects.create(kind="runs.adhoc", label="Test a host", status=Job.Status.SUCCEEDED,
                       progress=100, created_by=operator)  # fmt: skip
    Job.objects.create(kind="runs.everything", label="Test everything", status=Job.Status.FAILED,
                       progress=40, message="The worker stopped.", created_by=operator,
                       tenant_id=str(tenant.pk))  # fmt: skip
    record("tenant.update", target=tenant, tenant=tenant, before={"name": "Contoso"},
           after={"name": tenant.name}, actor=users["admin"])  # fmt: skip
    # A relay client with a credential and a real test send that failed (refused connection).
    relay = RelayClient.objects.create(
        tenant=tenant, name="Scanner (crawl)", owner="Facilities", owner_email="fac@contoso.com",
        sender_addresses=["scanner@contoso.com"], username="scanner@contoso.com",
        password="crawl-relay-secret", rotated_at=timezone.now(), smtp_host="127.0.0.1",
        smtp_port=closed_port,
    )  # fmt: skip
    Rotation.objects.create(client=relay, action="set", by=users["admin"], by_username="crawl")
    relay_send.execute(RelayTest.objects.create(client=relay, recipient="probe@contoso.com"))
    # A Skype for Business integration with a failed and a retired feature and some history.
    integration = Integration.objects.create(
        tenant=tenant, name="Lync pool (crawl)", product="lync_2013", pool_fqdn="127.0.0.1",
        pool_port=closed_port, features=["im_presence", "voicemail"],
    )  # fmt: skip
    integration_service.run_checks(integration)
    # An application with an active grant whose last verification found it over-privileged.
    app = Application.objects.create(
        tenant=tenant, name="Archiver (crawl)", owner="Records", client_id="app-crawl",
        protocols=["ews", "graph"], ews_uses=["mail_read"],
    )  # fmt: skip
    grant = Grant.objects.create(
        application=app, model="rbac", role="Application EWS.AccessAsApp", scope="list",
        mailboxes=["records@contoso.com"], justification="Archive", status="active",
        expires_at=timezone.now() + timezone.timedelta(days=20), requested_by=operator,
        last_outcome="over-privileged", last_checked_at=timezone.now(),
    )  # fmt: skip
    GrantCheck.objects.create(grant=grant, outcome="over-privileged", evidence=[
        {"mailbox": "records@contoso.com", "expected": "in", "reached": True, "detail": "ok"},
        {"mailbox": "probe@contoso.com", "expected": "out", "reached": True, "detail": "ok"},
    ])  # fmt: skip
    # EWS jobs as the worker leaves them: a rule's finished dry run with what it would change,
    # and a search with a mailbox that failed (Retry shows).
    dry = make_ews_job(grant, kind="rules", dry_run=True, status=Job.Status.SUCCEEDED, done=1,
                       boxes=["records@contoso.com"], user=operator,
                       message="Dry run: messages that would change: 3 (mailboxes: 1); "
                       "nothing was changed.")  # fmt: skip
    add_found(dry, 3)
    search = make_ews_job(grant, status=Job.Status.PROBLEMS, done=0, failed=1, user=operator,
                          boxes=["records@contoso.com"], message="Messages found: 0 "
                          "(mailboxes: 1). Mailboxes with errors: 1.")  # fmt: skip
    search.targets.update(status="failed", error="The mailbox does not exist.")
    return users


def _pattern(url: str) -> str | None:
    parts = urlsplit(url)
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    keys = sorted({pair.split("=", 1)[0] for pair in parts.query.split("&") if pair})
    return f"{match.route}?{'&'.join(keys)}"


def _links(page, origin: str) -> list[str]:
    # getAttribute, not .href: an SVG link's href is an object, not a string.
    hrefs = page.eval_on_selector_all(
        "a[href]", "els => els.map(e => new URL(e.getAttribute('href'), document.baseURI).href)"
    )
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin or not parts.path:
            continue
        if parts.path.startswith(SKIP_PREFIXES):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def _overflow(page) -> int:
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def _wider_than_screen(page) -> list[str]:
    """The elements that stick out past the right edge (to say where an overflow comes from)."""
    return page.evaluate(
        """() => { const w = document.documentElement.clientWidth; const out = [];
        for (const el of document.querySelectorAll('body *')) {
          const r = el.getBoundingClientRect();
          if (r.right > w + 1 && !el.closest('.table-wrap, pre')) {
            out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
          }
        } return out.slice(0, 5); }"""
    )


def _is_download(page, url: str, problems: list[str]) -> bool:
    """Files (exports, a run as JSON) are fetched and their status checked, not rendered."""
    response = page.request.get(url, max_redirects=0)
    headers = response.headers
    attachment = "attachment" in headers.get("content-disposition", "")
    if not attachment and headers.get("content-type", "").startswith("text/html"):
        return False
    if response.status >= 400:
        problems.append(f"{url}: download answered {response.status}")
    return response.status < 300 or response.status >= 400


def crawl(page, origin: str) -> tuple[dict[str, str], list[str]]:
    """Visit pages breadth-first from "/"; return {pattern: first url} and the problems found."""
    problems: list[str] = []
    seen_urls: set[str] = set()
    per_pattern: dict[str, int] = {}
    patterns: dict[str, str] = {}
    queue = deque(["/"])
    visited = 0
    while queue and visited < MAX_PAGES:
        url = queue.popleft()
        pattern = _pattern(url)
        if url in seen_urls or pattern is None or per_pattern.get(pattern, 0) >= PER_PATTERN:
            continue
        seen_urls.add(url)
        per_pattern[pattern] = per_pattern.get(pattern, 0) + 1
        patterns.setdefault(pattern, url)
        visited += 1
        if _is_download(page, url, problems):
            continue
        page.problems.console_errors.clear()
        response = page.goto(url)
        page.wait_for_load_state("networkidle")
        status = response.status if response else 0
        if status >= 500:
            problems.append(f"{url}: HTTP {status}")
            continue
        if status >= 400:
            problems.append(f"{url}: HTTP {status} behind a link this role was shown")
        for error in page.problems.console_errors:
            problems.append(f"{url}: console error: {error}")
        for violation in page.problems.csp_violations():
            problems.append(f"{url}: CSP violation: {violation}")
        for finding in page.problems.axe_violations():
            problems.append(f"{url}: axe {finding['impact']} {finding['id']} {finding['nodes']}")
        page.set_viewport_size(PHONE)
        if _overflow(page) > 0:
            problems.append(f"{url}: scrolls sideways at 390 px: {_wider_than_screen(page)}")
        page.set_viewport_size(DESKTOP)
        queue.extend(link for link in _links(page, origin) if link not in seen_urls)
    return patterns, problems


# Routes each role must reach through links alone (so every detail page is covered).
EXPECTED = {
    "viewer": {"", "tenants/", "tenants/<int:pk>/", "connectivity/",
               "connectivity/runs/<int:run_id>/",
               "connectivity/tenants/<int:pk>/history/<slug:probe>/",
               "jobs/", "jobs/<uuid:job_id>/", "audit/", "audit/event/<int:seq>/",
               "accounts/security/", "accounts/email/",
               "grants/", "grants/<int:pk>/", "grants/applications/<int:pk>/",
               "grants/<int:pk>/script/", "grants/ews-retirement/",
               "relay/", "relay/<int:pk>/", "relay/tests/<int:pk>/",
               "integrations/", "integrations/<int:pk>/", "integrations/tenants/<int:pk>/",
               "ews-jobs/", "ews-jobs/<uuid:pk>/", "ews-jobs/<uuid:pk>/results.csv"},
    "operator": {"connectivity/adhoc/", "grants/request/", "relay/new/", "relay/<int:pk>/edit/",
                 "integrations/new/", "integrations/<int:pk>/edit/",
                 "integrations/<int:pk>/delete/", "ews-jobs/new/", "ews-jobs/new/<slug:kind>/",
                 "ews-jobs/<uuid:pk>/run/"},
    "admin": {"accounts/users/", "grants/applications/new/",
              "grants/applications/<int:pk>/edit/", "grants/ews-retirement/<int:pk>/",
              "tenants/<int:pk>/edit/", "tenants/new/", "configuration/",
              "relay/<int:pk>/credential/", "relay/<int:pk>/credential/reveal/"},
}  # fmt: skip


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_crawl_every_linked_page(page, live_server, portal_data, role, language):
    user = portal_data[role]
    page.set_viewport_size(DESKTOP)
    sign_in(page, user.username, PASSWORD)
    if language == "ru":
        with page.expect_navigation():
            page.get_by_label("Language").select_option("ru")
        assert page.locator("html").get_attribute("lang") == "ru"
    patterns, problems = crawl(page, live_server.url)
    # What was visited, one pattern and its first URL a line, for whoever reads the artifacts.
    ARTIFACTS.mkdir(exist_ok=True)
    listing = "".join(f"{pattern}\t{url}\n" for pattern, url in sorted(patterns.items()))
    (ARTIFACTS / f"crawl-{role}-{language}.txt").write_text(listing)
    assert problems == [], "\n".join(problems)
    routes = {p.split("?", 1)[0] for p in patterns}
    wanted = set(EXPECTED["viewer"])
    if role in ("operator", "admin"):
        wanted |= EXPECTED["operator"]
    if role == "admin":
        wanted |= EXPECTED["admin"]
    assert wanted <= routes, f"never reached: {sorted(wanted - routes)}"
    assert page.locator("html").get_attribute("lang") == language


def test_menu_button_opens_the_navigation_at_phone_width(page, live_server, portal_data):
    page.set_viewport_size(PHONE)
    sign_in(page, portal_data["viewer"].username, PASSWORD)
    page.goto("/")
    button = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    assert button.is_visible() and button.get_attribute("aria-expanded") == "false"
    assert not nav.is_visible()
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    assert nav.is_visible()
    assert _overflow(page) <= 0
    assert page.problems.axe_violations() == []
    nav.get_by_role("link", name="Jobs", exact=True).click()
    page.wait_for_url("**/jobs/")
    assert not page.get_by_role("navigation", name="Main").is_visible()
    # Wide screens show the navigation without the button.
    page.set_viewport_size(DESKTOP)
    assert page.get_by_role("navigation", name="Main").is_visible()
    assert not page.get_by_role("button", name="Menu").is_visible()


def test_without_javascript_the_navigation_stays_open(browser, live_server, portal_data):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport=PHONE, locale="en-US"
    )
    page = context.new_page()
    try:
        # Signing in needs no JavaScript either.
        page.goto("/accounts/login/")
        page.get_by_label("Login").fill(portal_data["viewer"].username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        assert page.get_by_role("navigation", name="Main").is_visible()
        assert not page.get_by_role("button", name="Menu").is_visible()
        width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1]
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_audit_filter_inputs_fit_their_boxes(page, live_server, portal_data, viewport):
    page.set_viewport_size(viewport)
    sign_in(page, portal_data["viewer"].username, PASSWORD)
    page.goto("/audit/")
    sticking_out = page.evaluate(
        """() => [...document.querySelectorAll('.audit-filters .field')].flatMap(field => {
          const box = field.getBoundingClientRect();
          return [...field.querySelectorAll('input, select')].filter(input => {
            const r = input.getBoundingClientRect();
            return r.left < box.left - 0.5 || r.right > box.right + 0.5;
          }).map(input => input.name);
        })"""
    )
    assert sticking_out == []
    assert page.locator(".audit-filters input[type=datetime-local]").count() == 2
    assert _overflow(page) <= 0


def test_email_page_buttons_wrap_at_phone_width_in_russian(page, live_server, transactional_db):
    user = make_user("crawl-emails", Role.VIEWER)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    EmailAddress.objects.create(user=user, email="second@example.test", verified=False)
    page.set_viewport_size(DESKTOP)
    sign_in(page, user.username, PASSWORD)
    with page.expect_navigation():
        page.get_by_label("Language").select_option("ru")
    page.set_viewport_size(PHONE)
    page.goto("/accounts/")  # allauth sends the account root to the e-mail page
    page.wait_for_url("**/accounts/email/")
    buttons = page.locator(".form-actions").first.get_by_role("button")
    assert buttons.all_inner_texts() == ["Сделать основным", "Отправить подтверждение ещё раз",
                                         "Удалить"]  # fmt: skip
    assert _overflow(page) <= 0, _wider_than_screen(page)
    assert page.problems.axe_violations() == []
