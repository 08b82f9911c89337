"""A Russian reader sees Russian: every word a person reads on a run, a job and a tenant page.

Runs are made by real probes (a closed local port, an aiosmtpd server, the sandbox Exchange),
jobs by the real job machinery (a finished run, "Test everything", the reaper, a queue that
cannot be written). Each page is fetched with ``Accept-Language: ru`` and its visible text must
hold no Latin-script word besides names: products and protocols, hosts, addresses, the tenants'
and people's own names. The same pages in English hold no Cyrillic, so the stored text is
English and translated only when shown.
"""

import datetime as dt
import re
import socket
from html.parser import HTMLParser

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from portal.jobs.models import Job
from portal.jobs.reaper import reap_stale
from portal.runs import runner
from portal.runs.models import Probe, ProbeRun, RunStatus
from portal.runs.tasks import run_probe_task
from portal.tenants.models import Tenant
from portal.tenants.sandbox import sandbox_tenant_fields
from tests.jobs.helpers import free_port, unwritable_filesystem_broker

pytestmark = pytest.mark.django_db

# Names that stay as they are in Russian text (products, protocols, standards, record types).
NAMES = {
    "Exchange", "Online", "Server", "EWS", "SMTP", "IMAP", "IMAP4", "POP3", "MAPI", "HTTP",
    "HTTPS", "Autodiscover", "TLS", "SSL", "DNS", "OAuth", "STARTTLS", "XOAUTH2", "TCP", "MX",
    "SRV", "SPF", "DMARC", "DKIM", "TXT", "CNAME", "NXDOMAIN", "SERVFAIL", "REFUSED", "PEM",
    "CA", "JSON", "AUTH", "PLAIN", "LOGIN", "EHLO", "HELO", "SAN", "CN", "RSA", "ECDSA", "SHA",
    "Microsoft", "Celery", "PostgreSQL", "Redis", "ESMTP", "Basic", "Bearer", "UTC", "GetFolder",
    "Inbox", "ID", "URL", "UPN", "IPv4", "IPv6", "OK", "CELERY_BROKER_URL", "VAR_DIR", "Entra",
    "aiosmtpd", "ESMTPSA", "TLSv1", "CAPA", "CAPABILITY", "USER", "PASS", "NOOP", "QUIT", "STAT",
    "AES", "GCM", "CHACHA20", "POLY1305", "ECDHE", "X25519", "healthz",
    "A", "AAAA", "GET", "POST", "SOAP", "POX", "PING", "Connect", "Disconnect", "cookie",
    "GetUserSettings", "Protocol", "Ews", "X-MapiHttpCapability", "X-ResponseCode", "MapiContext",
    "SIZE", "HELP", "PIPELINING", "CHUNKING", "DSN", "ENHANCEDSTATUSCODES", "SMTPUTF8",
    "WWW-Authenticate", "BEGIN", "CERTIFICATE", "starttls", "localhost",
    "Interop", "Portal",  # the portal's own name
    "English",  # the language switcher names each language in itself
}  # fmt: skip
KNOWN = {name.casefold() for name in NAMES}
URL = re.compile(r"\w+://\S+")
# Stretches that are not words of the page's language: addresses, hosts, numbers, ids, paths.
NOT_WORDS = re.compile(
    r"\w+://\S+"  # URLs
    r"|[\w.+-]+@[\w.-]+"  # e-mail addresses, worker names (celery@host)
    r"|\b[\w-]+(?:\.[\w-]+)+\b"  # host names, dotted versions, file names
    r"|(?<![\w])/[\w./-]+"  # file paths
    r"|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"  # GUIDs
    r"|\b[0-9A-F]{2}(?::[0-9A-F]{2})+\b"  # fingerprints
    r"|\b\w*\d\w*\b",  # numbers and words with digits (ports, codes, SHA256)
    re.IGNORECASE,
)
PEOPLE = ("alice-admin", "oscar-operator", "vera-viewer")  # the signed-in personas' names
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z_]*(?:[-'][A-Za-z_]+)*")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


class _Text(HTMLParser):
    """The text a person reads: no tags, no attribute values, no scripts or styles."""

    SKIP = {"script", "style", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skipping += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data):
        if not self._skipping:  # line by line: a ticket's text is one block of lines
            self.parts += [" ".join(line.split()) for line in data.splitlines() if line.strip()]


def visible_lines(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.parts


def english_words(html: str, own_names=()) -> list[tuple[str, str]]:
    """(word, the text it stands in) for every Latin-script word that is not a name."""
    own_names = [*own_names, *PEOPLE]
    whole = {" ".join(name.split()) for name in own_names}
    found = []
    for line in visible_lines(html):
        if line in whole:
            continue
        text = URL.sub(" ", line)
        for name in sorted(own_names, key=len, reverse=True):
            text = text.replace(name, " ")
        text = NOT_WORDS.sub(" ", text)
        found += [(w, line) for w in LATIN_WORD.findall(text) if w.casefold() not in KNOWN]
    return found


def step_values(runs) -> set[str]:
    """What the steps quote rather than say: every plain argument of their sentences (a host,
    a server's reply, a subject line), and a detail that is no sentence of the engine at all —
    what the server itself answered (a greeting, a reply line, the settings it returned)."""
    values: set[str] = set()

    def collect(data):
        for value in (data or {}).get("args", {}).values():
            if isinstance(value, dict):
                collect(value)
            elif isinstance(value, str) and value:
                values.add(value)

    for run in runs:
        for step in run.steps:
            if step.get("detail") and "detail_msg" not in step:
                values.add(step["detail"])
            collect(step.get("detail_msg"))
            collect(step.get("hint_msg"))
    return values


def _ru(client, url: str) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="ru", follow=True)
    assert response.status_code == 200, url
    assert response["Content-Language"] == "ru"
    return response.content.decode()


def run_urls(runs) -> list[str]:
    """A run's page and its text for a ticket."""
    return [f"/connectivity/runs/{r.pk}/{page}" for r in runs for page in ("", "ticket/")]


def assert_russian(client, urls, own_names=()):
    own_names = [*own_names, *step_values(ProbeRun.objects.all())]
    problems = {}
    for url in urls:
        words = english_words(_ru(client, url), own_names)
        if words:
            problems[url] = words
    if problems:
        pytest.fail("English on Russian pages:\n" + "\n".join(
            f"{url}: {word!r} in {line!r}" for url, words in problems.items()
            for word, line in words
        ))  # fmt: skip


def assert_english(client, urls):
    """The same pages for an English reader: nothing stored in Russian leaks through (the
    language switcher names Russian in Russian)."""
    for url in urls:
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        russian = [line for line in visible_lines(html)
                   if CYRILLIC.search(line) and line != "Русский"]  # fmt: skip
        assert not russian, (url, russian)


def test_the_checker_finds_english_and_lets_names_through():
    html = (
        "<p>Порт 25 на mail.contoso.test: SMTP отвечает <b>Connection lost</b></p>"
        '<p title="English title">Почта alice@contoso.test, <a href="/x">https://a.b/c</a></p>'
        "<script>var english = 1;</script><style>.x{color:red}</style>"
    )
    assert english_words(html) == [
        ("Connection", "Connection lost"),
        ("lost", "Connection lost"),
    ]
    assert english_words("<p>Тенант Contoso Ltd</p>", own_names=["Contoso Ltd"]) == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Accept:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        return "250 OK"


@pytest.fixture
def plain_smtp_server():
    """An SMTP server without TLS: the SMTP test warns or fails, with a hint."""
    port = free_port()
    controller = Controller(_Accept(), hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    yield port
    controller.stop()


def _post_ru(client, url, data, capture):
    with capture(execute=True):
        response = client.post(url, data, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 302, response.content[:500]
    return response


def test_run_and_job_pages_of_ad_hoc_tests_are_russian(
    operator_client, eager_celery, plain_smtp_server, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    _post_ru(operator_client, "/connectivity/adhoc/",
             {"probe": "tcp", "host": "127.0.0.1", "port": _closed_port()}, capture)  # fmt: skip
    _post_ru(operator_client, "/connectivity/adhoc/",
             {"probe": "smtp", "host": "127.0.0.1", "port": plain_smtp_server,
              "security": "starttls"}, capture)  # fmt: skip
    runs = list(ProbeRun.objects.order_by("pk"))
    assert [r.status for r in runs] == [RunStatus.FAIL, RunStatus.FAIL], [r.steps for r in runs]
    assert any(step.get("hint") for run in runs for step in run.steps)
    jobs = list(Job.objects.order_by("created_at"))
    assert all(job.status == Job.Status.PROBLEMS for job in jobs)
    urls = run_urls(runs) + [f"/jobs/{j.pk}/" for j in jobs]
    urls += ["/jobs/", "/connectivity/", "/connectivity/adhoc/"]
    assert_russian(operator_client, urls)
    assert_english(operator_client, urls)


@pytest.fixture
def tenants(db, sandbox_exchange):
    """The sandbox tenant, one without a trusted CA, and one with no SMTP host set."""
    fields = sandbox_tenant_fields(sandbox_exchange.info)
    return {
        "sandbox": Tenant.objects.create(name="Sandbox", **fields),
        "untrusted": Tenant.objects.create(name="No CA", **{**fields, "ca_bundle": ""}),
        "no_smtp": Tenant.objects.create(name="No SMTP host", **{**fields, "smtp_host": ""}),
    }


@pytest.mark.django_db(transaction=True)  # "Test everything" runs tests in threads
def test_tenant_runs_and_test_everything_are_russian(
    admin_client, tenants, eager_celery, settings, django_capture_on_commit_callbacks
):
    settings.CONNECTIVITY_CONCURRENCY = 2
    sandbox, untrusted, no_smtp = tenants["sandbox"], tenants["untrusted"], tenants["no_smtp"]
    _post_ru(admin_client, f"/connectivity/tenants/{sandbox.pk}/run-all/", {},
             django_capture_on_commit_callbacks)  # fmt: skip
    everything = Job.objects.get(kind="connectivity.everything")
    assert everything.is_done and ProbeRun.objects.filter(job=everything).count() == 8
    failed = runner.execute(ProbeRun.objects.create(tenant=untrusted, probe=Probe.POP3))
    assert failed.steps[-1]["status"] == "fail" and failed.steps[-1]["hint"]
    cannot = runner.execute(ProbeRun.objects.create(tenant=no_smtp, probe=Probe.SMTP))
    assert cannot.status == RunStatus.ERROR and "SMTP host" in cannot.error

    urls = run_urls(ProbeRun.objects.order_by("pk"))
    urls += [f"/jobs/{everything.pk}/", "/jobs/", "/connectivity/"]
    urls += [f"/tenants/{t.pk}/" for t in tenants.values()]
    urls += [f"/connectivity/tenants/{sandbox.pk}/history/{Probe.SMTP}/"]
    names = [t.name for t in tenants.values()]
    assert_russian(admin_client, urls, own_names=names)
    assert_english(admin_client, urls)


@pytest.mark.django_db(transaction=True)  # so the views meet the queue failure themselves
def test_jobs_cut_short_are_russian(operator_client, tenants, settings):
    # A job whose worker died and that was tried too often: failed by the reaper.
    settings.JOB_MAX_ATTEMPTS = 2
    lost_run = ProbeRun.objects.create(probe=Probe.TCP, status=RunStatus.RUNNING,
                                       params={"host": "127.0.0.1", "port": 9})  # fmt: skip
    lost = Job.objects.create(
        kind="connectivity.run", label="TCP port · 127.0.0.1", task_name=run_probe_task.name,
        kwargs={"run_id": lost_run.pk}, status=Job.Status.RUNNING, attempts=2,
        worker="celery@worker-7", heartbeat_at=timezone.now() - dt.timedelta(hours=1),
    )  # fmt: skip
    ProbeRun.objects.filter(pk=lost_run.pk).update(job=lost)
    assert reap_stale() == {"requeued": 0, "failed": 1}

    # Jobs that could not be handed to the queue: an ad-hoc run and a tenant's "Run all tests".
    sandbox = tenants["sandbox"]
    with unwritable_filesystem_broker():
        flashes = [
            operator_client.post(url, data, HTTP_ACCEPT_LANGUAGE="ru", follow=True)
            for url, data in [
                ("/connectivity/adhoc/", {"probe": "tcp", "host": "127.0.0.1", "port": 25}),
                (f"/connectivity/tenants/{sandbox.pk}/run-all/", {}),
            ]
        ]  # fmt: skip
    for page in flashes:
        html = page.content.decode()
        assert "VAR_DIR" in html and "очеред" in html, html  # the flash says why, in Russian
        assert not english_words(html, [t.name for t in tenants.values()])
    unqueued = list(Job.objects.exclude(pk=lost.pk))
    assert len(unqueued) == 2 and all(j.status == Job.Status.FAILED for j in unqueued)
    assert all(j.message.startswith("The job queue is not available") for j in unqueued)

    runs = ProbeRun.objects.order_by("pk")
    assert all(run.status == RunStatus.ERROR and run.error for run in runs)
    urls = run_urls(runs) + [f"/jobs/{job.pk}/" for job in Job.objects.all()] + ["/jobs/"]
    assert_russian(operator_client, urls, own_names=[sandbox.name])
    assert_english(operator_client, urls)
