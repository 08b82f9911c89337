"""Turn a tenant (or an ad-hoc form) into one engine probe call, and run it.

The engine (``connectivity.probes``) knows nothing of Django; this module is the bridge: it picks
the endpoints and credentials, writes a tenant's CA bundle to a temporary file, gets OAuth
tokens from the tenant's own authority, and streams each finished step into the run's row.
"""

import contextlib
import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from connectivity import probes
from connectivity.ews import CABundleAdapter, TokenError, fetch_token
from connectivity.explain import explain, said
from connectivity.fanout import WorkerLost
from connectivity.i18n import N_
from connectivity.oauth import fetch_token_with_certificate
from connectivity.probes.core import InvalidInput, Status, Step
from connectivity.tlspolicy import verification_off
from portal.runs.models import Probe, ProbeRun, RunStatus
from portal.tenants.models import Tenant

log = logging.getLogger(__name__)

# Steps a run records when it cannot start; a probe's own steps follow only when it starts.
SETTINGS_STEP = N_("Tenant settings")
TOKEN_STEP = N_("Access token")
INPUT_STEP = N_("Test input")
START_STEP = N_("Start the test")
WORKER_LOST_HINT = N_(
    "Run the test again. If it stops again, look at the worker's log: the machine may be short "
    "of memory."
)
FIX_TENANT = "tenant_edit"  # a step marked so links to the tenant's edit form
SETTINGS_HINT = N_(
    "Open the tenant's settings, fill in the missing value, save and run the test again."
)


class CannotRun(Exception):  # noqa: N818 - reads naturally as ``raise CannotRun(...)``
    """The run cannot start (a missing setting, no token); recorded as one failed step."""

    def __init__(self, detail: str, hint: str = SETTINGS_HINT, *, step: str = SETTINGS_STEP,
                 fix: str = FIX_TENANT) -> None:  # fmt: skip
        super().__init__(detail)
        self.detail, self.hint, self.step, self.fix = detail, hint, step, fix

    def step_dict(self) -> dict:
        step = Step(self.step, Status.FAIL, self.detail, self.hint).to_dict(messages=True)
        if self.fix:
            step["fix"] = self.fix
        return step


def ca_file_for(tenant: Tenant | None) -> str | None:
    """A file holding the tenant's CA bundle, named by its content so it never goes stale.

    exchangelib's HTTP adapter keeps the CA file per host for the whole process, so the file
    must outlive the run; a tenant without a bundle drops any earlier registration instead.
    """
    if tenant is None:
        return None
    if not tenant.ca_bundle:
        for url in (tenant.endpoints()[k] for k in ("ews_url", "mapi_url", "token_url")):
            if url:
                CABundleAdapter.forget(url)
        if tenant.autodiscover_url:
            CABundleAdapter.forget(tenant.autodiscover_url)
        return None
    digest = hashlib.sha256(tenant.ca_bundle.encode()).hexdigest()[:32]
    return _write_bundle(digest, tenant.ca_bundle)


def _write_bundle(digest: str, pem: str) -> str:
    folder = Path(settings.VAR_DIR) / "ca-bundles"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.pem"
    if not path.exists():
        tmp = folder / f".{digest}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(pem)
        os.replace(tmp, path)  # atomic: concurrent runs never read a half-written file
    return str(path)


def _host_port(url: str, default: int = 443) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or default


def app_token(tenant: Tenant, ep: dict, ca_file) -> str:
    """An app-only access token from the tenant's own authority (secret or certificate)."""
    try:
        if tenant.auth_method == Tenant.Auth.OAUTH_CERT:
            data = fetch_token_with_certificate(
                ep["token_url"], tenant.client_id, tenant.certificate_pem, scope=ep["scope"],
                ca_file=ca_file, timeout=settings.PROBE_TIMEOUT,
            )  # fmt: skip
        else:
            data = fetch_token(
                ep["token_url"], tenant.client_id, tenant.client_secret, scope=ep["scope"],
                ca_file=ca_file, timeout=settings.PROBE_TIMEOUT,
            )  # fmt: skip
        return data["access_token"]
    except TokenError as exc:
        raise CannotRun(
            N_("the token endpoint refused the application: %(error)s: %(description)s",
               error=exc.error, description=str(exc.description)[:300]),
            N_("Check the tenant id, the application (client) id and its secret or certificate "
               "in the tenant's settings, and that the application has the Exchange permission "
               "with admin consent."), step=TOKEN_STEP,
        )  # fmt: skip
    except ValueError as exc:  # an unusable certificate/key (checked again at sign time)
        raise CannotRun(
            N_("the application's certificate cannot be used: %(reason)s", reason=exc),
            step=TOKEN_STEP,
        )
    except (requests.RequestException, OSError) as exc:
        detail, hint = explain(exc, timeout=settings.PROBE_TIMEOUT, host=urlsplit(
            ep["token_url"]).hostname)  # fmt: skip
        settings_help = "{ca_file}" in hint or "{dns_server}" in hint
        raise CannotRun(
            N_("the token endpoint %(url)s could not be reached: %(detail)s",
               url=ep["token_url"], detail=detail), hint,
            step=TOKEN_STEP, fix=FIX_TENANT if settings_help else "",
        )  # fmt: skip


def _mail_credentials(tenant: Tenant, ep: dict, ca_file) -> dict:
    """Credentials for SMTP/IMAP/POP/MAPI: an app-only bearer token, or Basic."""
    if tenant.uses_oauth:
        if not tenant.test_mailbox:
            raise CannotRun(
                N_("no default test mailbox is set: OAuth sign-in needs a mailbox to act as")
            )
        return {"username": tenant.test_mailbox, "token": app_token(tenant, ep, ca_file)}
    return {"username": tenant.username, "password": tenant.password}


def _password_auth(tenant: Tenant) -> str:
    """How the HTTP probes (EWS, Autodiscover, MAPI) send a password: the tenant's choice."""
    return "ntlm" if tenant.auth_method == Tenant.Auth.NTLM else "basic"


def _bearer_or_password(tenant: Tenant, ep: dict, ca_file) -> dict:
    """HTTP probes send the bearer token alone, or the password as Basic or NTLM."""
    credentials = _mail_credentials(tenant, ep, ca_file)
    if "token" in credentials:
        credentials.pop("username")
    else:
        credentials["auth"] = _password_auth(tenant)
    return credentials


def tenant_call(tenant: Tenant, probe: str, ca_file: str | None):
    """(function, kwargs) for running ``probe`` against ``tenant``."""
    ep = tenant.endpoints()
    common = {"ca_file": ca_file, "timeout": settings.PROBE_TIMEOUT,
              "allow_link_local": settings.PROBE_ALLOW_LINK_LOCAL}  # fmt: skip
    mailbox = tenant.test_mailbox
    if probe == Probe.DNS:
        if not tenant.primary_domain:
            raise CannotRun(
                N_("the tenant has no accepted domain whose DNS records could be tested")
            )
        common.pop("ca_file")
        return probes.probe_dns, {"domain": tenant.primary_domain, **tenant.dns_resolver(),
                                  **common}  # fmt: skip
    if probe == Probe.TLS:
        host, port = _host_port(ep["ews_url"])
        if not host:
            raise CannotRun(N_("no EWS URL is set to take the certificate from"))
        return probes.probe_tls, {"host": host, "port": port, **common}
    if probe in {Probe.SMTP, Probe.IMAP, Probe.POP3}:
        key = {"smtp": "smtp", "imap": "imap", "pop3": "pop"}[probe]
        host = ep[f"{key}_host"]
        if not host:
            raise CannotRun(
                N_("no %(protocol)s host is set for this tenant", protocol=probe.upper())
            )
        kwargs = {"host": host, "port": ep[f"{key}_port"], **common}
        if probe == Probe.SMTP:
            kwargs["security"] = ep["smtp_security"]
        else:
            kwargs["security"] = "tls" if ep[f"{key}_port"] in (993, 995) else "starttls"
        kwargs.update(_mail_credentials(tenant, ep, ca_file))
        func = {"smtp": probes.probe_smtp, "imap": probes.probe_imap, "pop3": probes.probe_pop3}
        return func[probe], kwargs
    if not mailbox:
        raise CannotRun(N_("no default test mailbox is set for this tenant"))
    if probe == Probe.AUTODISCOVER:
        kwargs = {"email": mailbox, "url": ep["autodiscover_url"] or None, **common}
        if tenant.dns_server:  # SRV lookups go to the tenant's DNS server too
            dns = tenant.dns_resolver()
            kwargs.update(nameserver=dns["nameserver"], dns_port=dns["port"])
        kwargs.update(_bearer_or_password(tenant, ep, ca_file))
        return probes.probe_autodiscover, kwargs
    if probe == Probe.EWS:
        kwargs = {"mailbox": mailbox, "url": ep["ews_url"], **common}
        if tenant.auth_method == Tenant.Auth.OAUTH_CERT:
            kwargs.update(token=app_token(tenant, ep, ca_file), impersonate=mailbox)
        elif tenant.uses_oauth:
            kwargs.update(token_url=ep["token_url"], client_id=tenant.client_id,
                          client_secret=tenant.client_secret, impersonate=mailbox)  # fmt: skip
        else:
            kwargs.update(username=tenant.username, password=tenant.password,
                          auth=_password_auth(tenant))  # fmt: skip
        return probes.probe_ews, kwargs
    if probe == Probe.MAPI:
        kwargs = {"email": mailbox, "url": ep["mapi_url"] or None,
                  "autodiscover_url": ep["autodiscover_url"] or None, **common}  # fmt: skip
        if not kwargs["url"] and not kwargs["autodiscover_url"]:
            raise CannotRun(N_("neither the MAPI URL nor the Autodiscover URL is set"))
        kwargs.update(_bearer_or_password(tenant, ep, ca_file))
        return probes.probe_mapi, kwargs
    raise CannotRun(
        N_("unknown test %(probe)s", probe=repr(probe)),
        N_("Choose one of the listed tests."),
        fix="",
    )


ADHOC_FUNCS = {
    Probe.SMTP: "probe_smtp", Probe.IMAP: "probe_imap", Probe.POP3: "probe_pop3",
    Probe.TLS: "probe_tls", Probe.TCP: "probe_tcp", Probe.DNS: "probe_dns",
}  # fmt: skip


def adhoc_ca_file(params: dict) -> str | None:
    """The ad-hoc form's CA bundle as a file (content-named, like a tenant's; never stale)."""
    pem = params.get("ca_bundle")
    if not pem:
        return None
    digest = hashlib.sha256(pem.encode()).hexdigest()[:32]
    return _write_bundle(digest, pem)


def adhoc_call(params: dict, password: str | None, ca_file: str | None = None):
    kwargs = {k: v for k, v in params.items() if v not in (None, "") and k != "ca_bundle"}
    kwargs.update(timeout=settings.PROBE_TIMEOUT, allow_link_local=settings.PROBE_ALLOW_LINK_LOCAL)
    probe = kwargs.pop("probe")
    if probe == Probe.DNS:
        kwargs["domain"] = kwargs.pop("host")
        kwargs.pop("port", None)
    if password:
        kwargs["password"] = password
    if ca_file and probe not in {Probe.DNS, Probe.TCP}:
        kwargs["ca_file"] = ca_file
    return getattr(probes, ADHOC_FUNCS[probe]), kwargs


def _as_cannot_run(exc: Exception, run: ProbeRun) -> CannotRun:
    if isinstance(exc, CannotRun):
        return exc
    if isinstance(exc, WorkerLost):  # killed mid-probe (out of memory, an operator's kill)
        log.warning("run %s: the process running its probe stopped", run.pk)
        return CannotRun(said(exc), WORKER_LOST_HINT, step=START_STEP, fix="")
    if isinstance(exc, InvalidInput):
        fix = FIX_TENANT if run.tenant else ""
        hint = (
            SETTINGS_HINT if run.tenant else N_("Correct the value in the form and run it again.")
        )
        return CannotRun(said(exc), hint, step=INPUT_STEP, fix=fix)
    log.exception("run %s stopped on an unexpected error", run.pk)
    detail, hint = explain(exc, timeout=settings.PROBE_TIMEOUT)
    return CannotRun(detail, hint, step=START_STEP, fix="")


def _in_this_thread(func, kwargs, on_step):
    return func(**kwargs, on_step=on_step)


def execute(run: ProbeRun, password: str | None = None, call=_in_this_thread) -> ProbeRun:
    """Run the probe for ``run`` now, saving each step as it finishes.

    ``call(func, kwargs, on_step)`` runs the probe: here by default, or through the engine's
    process pool (``connectivity.fanout.ProbePool.call``) when many runs fan out at once; either
    way ``on_step`` is called in this thread, so the steps are saved on its connection."""
    run.status, run.started_at = RunStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])
    started = time.monotonic()

    def on_step(step):
        run.steps.append(step.to_dict(messages=True))
        ProbeRun.objects.filter(pk=run.pk).update(steps=run.steps)

    try:
        with contextlib.ExitStack() as stack:
            ca_file = ca_file_for(run.tenant) if run.tenant else adhoc_ca_file(run.params)
            if run.tenant is not None and not run.tenant.tls_verify:
                stack.enter_context(verification_off())
            if run.tenant is not None:
                func, kwargs = tenant_call(run.tenant, run.probe, ca_file)
            else:
                func, kwargs = adhoc_call({**run.params, "probe": run.probe}, password, ca_file)
            result = call(func, kwargs, on_step)
        run.target = result.target[:300]
        run.steps = [s.to_dict(messages=True) for s in result.steps]
        run.status = ProbeRun.status_from_steps(run.steps)
        run.cert_days_left = ProbeRun.days_left_from_steps(run.steps)
    except Exception as exc:  # noqa: BLE001 - whatever stops a run is shown as a step in words
        failure = _as_cannot_run(exc, run)
        run.steps = [*run.steps, failure.step_dict()]
        run.status, run.error = RunStatus.ERROR, failure.detail[:500]
    run.finished_at = timezone.now()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    # Only what this execution produced: the row's job link is written by whoever started it.
    run.save(update_fields=["target", "steps", "status", "cert_days_left", "error",
                            "finished_at", "duration_ms"])  # fmt: skip
    return run
